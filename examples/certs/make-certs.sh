#!/usr/bin/env bash
# Create the TLS identities Portcullis relies on: a CA, a server
# certificate for dockerd, and one client certificate per user whose
# subject is CN=<user>, OU=<team> (one OU per team). dockerd verifies the
# client certificate (--tlsverify) and reports its CN to Portcullis as the
# user; Portcullis reads the OUs (and O) from the certificate the daemon
# forwards and maps them to teams (team "web" { ous = ["web"] }).
#
#   make-certs.sh OUTDIR user:team[,team...] ...
#   make-certs.sh /etc/docker/tls alice:web bob:data carol:ops,web dave
#
# OUTDIR/ca.pem, ca-key.pem        the CA (created once; reused to add users)
# OUTDIR/server-cert.pem, -key.pem dockerd's certificate, for SERVER_NAMES
# OUTDIR/users/<user>/             ca.pem, cert.pem, key.pem: a DOCKER_CERT_PATH
#
# Environment:
#   SERVER_NAMES  names and addresses the server certificate is valid for,
#                 comma-separated (default: this host's name, localhost, 127.0.0.1)
#   DAYS          validity of new certificates in days (default 365; CA 3650)
#   ORG           O= of every certificate (default Portcullis)
#
# Keep ca-key.pem offline: whoever holds it can mint any identity, and so
# any team's permissions. Existing files are never overwritten; remove a
# user's directory to re-issue it.
set -euo pipefail

usage() { echo "usage: $0 OUTDIR user[:team[,team...]] ..." >&2; exit 2; }
[[ $# -ge 1 ]] || usage
out=$1
shift
days=${DAYS:-365}
org=${ORG:-Portcullis}
names=${SERVER_NAMES:-$(hostname -f 2>/dev/null || hostname),localhost,127.0.0.1}

command -v openssl >/dev/null || { echo "$0: openssl is required" >&2; exit 1; }
umask 077
mkdir -p "$out/users"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A subject value must not carry the separators of -subj.
check_name() {
  if [[ ! $1 =~ ^[A-Za-z0-9._@-]+$ ]]; then
    echo "$0: \"$1\": use letters, digits and . _ @ - only" >&2
    exit 2
  fi
}

if [[ ! -f $out/ca.pem ]]; then
  openssl req -x509 -new -newkey rsa:4096 -nodes -sha256 -days $((days * 10)) \
    -keyout "$out/ca-key.pem" -out "$out/ca.pem" -subj "/O=$org/CN=$org Docker CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  echo "created CA $out/ca.pem"
fi

sign() { # sign CSR CERT EXTFILE
  openssl x509 -req -in "$1" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" -CAcreateserial \
    -CAserial "$out/ca.srl" -days "$days" -sha256 -out "$2" -extfile "$3" 2>/dev/null
}

if [[ ! -f $out/server-cert.pem ]]; then
  san=""
  IFS=, read -ra parts <<<"$names"
  for n in "${parts[@]}"; do
    [[ -z $n ]] && continue
    if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then san+="IP:$n,"; else san+="DNS:$n,"; fi
  done
  openssl req -new -newkey rsa:2048 -nodes -keyout "$out/server-key.pem" -out "$tmp/server.csr" \
    -subj "/O=$org/CN=${parts[0]}" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' "${san%,}" >"$tmp/server.ext"
  sign "$tmp/server.csr" "$out/server-cert.pem" "$tmp/server.ext"
  echo "created server certificate $out/server-cert.pem for ${san%,}"
fi

for spec in "$@"; do
  user=${spec%%:*}
  teams=""
  [[ $spec == *:* ]] && teams=${spec#*:}
  check_name "$user"
  subj="/O=$org"
  if [[ -n $teams ]]; then
    IFS=, read -ra ts <<<"$teams"
    for team in "${ts[@]}"; do
      check_name "$team"
      subj+="/OU=$team"
    done
  fi
  subj+="/CN=$user"
  dir=$out/users/$user
  if [[ -e $dir/cert.pem ]]; then
    echo "kept $dir (exists)"
    continue
  fi
  mkdir -p "$dir"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$tmp/$user.csr" -subj "$subj" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' >"$tmp/client.ext"
  sign "$tmp/$user.csr" "$dir/cert.pem" "$tmp/client.ext"
  cp "$out/ca.pem" "$dir/ca.pem"
  echo "created $dir ($subj): DOCKER_CERT_PATH=$dir DOCKER_TLS_VERIFY=1 DOCKER_HOST=tcp://HOST:2376"
done
