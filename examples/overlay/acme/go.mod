module example.com/acme/zdgen-overlay

go 1.24
