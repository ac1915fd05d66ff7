# Shell functions for the test rigs' certificates, sourced by
# test/apiserver/run.sh and test/cluster/run.sh. They work in the current
# directory, which holds the CA once `ca NAME` has run.

# key FILE: a P-256 private key.
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# ca CN: ca.key and a self-signed ca.crt, valid for a day.
ca() {
  key ca.key
  openssl req -x509 -new -key ca.key -subj "/CN=$1" -days 1 -out ca.crt
}

# cert NAME SUBJECT EXTENSIONS: NAME.key and NAME.crt signed by the CA,
# with the given X.509 extensions (one per line).
cert() {
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days 1 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
