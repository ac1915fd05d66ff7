//go:build ignore

// The baseline for the serving-overhead benchmark: a bare net/http server
// with the same /work handler as a generated HTTP service, and nothing
// else (no drain middleware, no panic recovery, no body cap, no health
// listener). bench/run.sh copies it into a generated module and builds it.
package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int{"worked_ms": ms})
	})
	srv := &http.Server{Addr: ":" + os.Getenv("PORT"), ReadHeaderTimeout: 5 * time.Second}
	panic(srv.ListenAndServe())
}
