//go:build ignore

// An OTLP/HTTP trace receiver that accepts every export and keeps nothing:
// the collector for the serving benchmark's traced services, so that the
// cost measured is the service's (spans, batching, export), not a real
// collector's. An empty body is a valid ExportTraceServiceResponse.
package main

import (
	"io"
	"log"
	"net/http"
	"os"
	"sync/atomic"
)

func main() {
	var exports, bytes atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		exports.Add(1)
		bytes.Add(n)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		log.New(w, "", 0).Printf("%d %d", exports.Load(), bytes.Load())
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux))
}
