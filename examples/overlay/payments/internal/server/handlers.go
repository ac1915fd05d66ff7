package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// routes registers the service's API. This file is yours: .zdgen.yaml
// records it as owned by you, so zdgen's upgrades leave it alone. Add your
// endpoints here; the drain and panic middleware in server.go wrap them all.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /work", s.work)
	mux.HandleFunc("POST /work", s.work)
}

// work takes ?ms=N milliseconds, so a drain can be tested with requests
// that are still running when SIGTERM arrives. N is capped at WORK_MAX so no
// request outlives the shutdown timeout.
func (s *Server) work(w http.ResponseWriter, r *http.Request) {
	ms := 0
	var err error
	if q := r.URL.Query().Get("ms"); q != "" {
		ms, err = strconv.Atoi(q)
	}
	maxMS := int(s.cfg.WorkMax / time.Millisecond)
	if err != nil || ms < 0 || ms > maxMS {
		http.Error(w, "ms must be a whole number from 0 to "+strconv.Itoa(maxMS), http.StatusBadRequest)
		return
	}
	// /work needs no body, but reads it: one of unknown length (chunked)
	// over MaxBodyBytes is refused, as a declared one is in server.go.
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body over "+strconv.FormatInt(tooBig.Limit, 10)+" bytes", http.StatusRequestEntityTooLarge)
		}
		return // or the client went away
	}
	if ms > 0 {
		t := time.NewTimer(time.Duration(ms) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return // the client went away: nobody is left to answer
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(workResponse{WorkedMS: ms}); err != nil {
		s.log.Debug("work: response not written", "error", err.Error()) // the client went away
	}
}

type workResponse struct {
	WorkedMS int `json:"worked_ms"`
}
