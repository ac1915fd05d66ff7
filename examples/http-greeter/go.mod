module example.com/greeter

go 1.25.0
