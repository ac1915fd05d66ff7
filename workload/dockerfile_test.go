package workload

import (
	"strings"
	"testing"
)

func TestParseDockerfile(t *testing.T) {
	img, err := ParseDockerfile(`# syntax=docker/dockerfile:1
ARG BASE=alpine:3.22
FROM golang:1.26 AS build
RUN <<EOF
FROM scratch
COPY /etc/passwd /not-in-the-image
EOF
RUN go build -o /out/ ./cmd/orders ./cmd/loadtest

FROM --platform=$BUILDPLATFORM ${BASE} AS runtime
WORKDIR /app
COPY --from=build \
  # a comment inside a continued instruction
  --chown=65532:65532 \
  /out/orders ./bin/
COPY ["tools/probe", "/usr/local/bin/probe"]
ADD rootfs.tar.gz /opt/
ENV PATH=/app/bin:$PATH LANG=C.UTF-8

FROM runtime
USER 65532:65532
ENTRYPOINT ["/app/bin/orders"]
`)
	if err != nil {
		t.Fatal(err)
	}
	if img.From != "alpine:3.22" || img.Kind != "alpine" || img.Workdir != "/app" {
		t.Errorf("From %q kind %q workdir %q; want the runtime stage's alpine:3.22 in /app", img.From, img.Kind, img.Workdir)
	}
	if got := strings.Join(img.Path, ":"); got != "/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" {
		t.Errorf("PATH %s", got)
	}
	for _, tc := range []struct {
		argv    []string
		service bool
		refused string // in the error
	}{
		{[]string{"orders", "sleep", "5s"}, true, ""},          // on PATH through ENV
		{[]string{"/app/bin/orders", "sleep", "5s"}, true, ""}, // COPY into WORKDIR-relative bin/
		{[]string{"/bin/sh", "-c", "sleep 5"}, false, ""},      // alpine's
		{[]string{"/not-in-the-image"}, false, "/not-in-the-image is not in the image"},
		{[]string{"probe", "-addr", "127.0.0.1:8080"}, false, "copies in; zdgen rehearse builds and runs only the service's binary"},
		{[]string{"/opt/bin/drain"}, false, "may be among the files the Dockerfile copies into /opt"},
	} {
		ec, err := img.command("orders", tc.argv, "")
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%v: %v", tc.argv, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("%v: %v, want it refused saying %q", tc.argv, err, tc.refused)
		case err == nil && ec.Service != tc.service:
			t.Errorf("%v: runs the service's binary: %v, want %v", tc.argv, ec.Service, tc.service)
		}
	}
	if p := img.servicePath("orders"); p != "/app/bin/orders" {
		t.Errorf("the service's binary is at %q, want /app/bin/orders", p)
	}
	for _, bad := range []string{"", "# only a comment\n", "COPY a /b\nFROM scratch\n", "FROM --platform=linux/amd64\n"} {
		if _, err := ParseDockerfile(bad); err == nil {
			t.Errorf("ParseDockerfile(%q) accepted", bad)
		}
	}
}

func TestDockerfileLineRules(t *testing.T) {
	// A continuation at the end of the file, the backtick escape, CRLF.
	for _, src := range []string{
		"FROM alpine:3.22\nCOPY /out/orders \\\n  /orders \\\n",
		"# escape=`\r\nFROM alpine:3.22\r\nCOPY /out/orders `\r\n  /orders\r\n",
	} {
		img, err := ParseDockerfile(src)
		if err != nil {
			t.Fatal(err)
		}
		if ec, err := img.command("orders", []string{"/orders", "sleep", "1s"}, ""); err != nil || !ec.Service {
			t.Errorf("%q: /orders: %v", src, err)
		}
	}
}
