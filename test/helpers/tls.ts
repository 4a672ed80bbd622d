import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'

function openssl(dir: string, ...args: string[]): void {
  const r = spawnSync('openssl', args, {cwd: dir, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`)
}

/**
 * A throw-away CA (openssl, installed by scripts/services.sh) and a certificate it signs for
 * 127.0.0.1, valid two days, written into `dir` as ca.crt, ca.key, server.crt and server.key.
 */
export function throwAwayCertificates(dir: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=dlq-test-ca')
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1')
  writeFileSync(`${dir}/san.ext`, 'subjectAltName=IP:127.0.0.1\n')
  openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext')
}
