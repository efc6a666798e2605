// host/devices/tls.ts: TLS for the net device's listener, and mutual TLS.
//
// `qenex boot --tls-cert <pem> --tls-key <pem>` serves both protocols (HTTP
// and binary frames) over TLS 1.2+ only. Adding `--tls-client-ca <pem>`
// makes it mutual: a client must present a certificate that chains to one of
// those CAs, or the handshake fails before a byte reaches the host's framing,
// let alone the kernel. Client certificates are a transport credential: they
// decide who may connect at all; API keys still decide, in the gateway
// service, what a request may do.

import { readFileSync } from 'node:fs';
import tls from 'node:tls';

export interface TlsFiles { cert: string; key: string; clientCa?: string }

export interface TlsListen {
  options: tls.TlsOptions;
  mutual: boolean;
}

export class TlsConfigError extends Error {
  override name = 'TlsConfigError';
}

function readPem(path: string, what: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new TlsConfigError(`${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!bytes.includes('-----BEGIN ')) throw new TlsConfigError(`${what} ${path}: not a PEM file`);
  return bytes;
}

/** Reads and checks the PEM files: a key that does not match the certificate is refused here, not at the first client. */
export function loadTls(files: TlsFiles): TlsListen {
  const options: tls.TlsOptions = {
    cert: readPem(files.cert, '--tls-cert'),
    key: readPem(files.key, '--tls-key'),
    minVersion: 'TLSv1.2',
  };
  const mutual = files.clientCa !== undefined;
  if (mutual) {
    options.ca = readPem(files.clientCa!, '--tls-client-ca');
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  try {
    tls.createSecureContext(options);
  } catch (e) {
    throw new TlsConfigError(`TLS: the certificate, key or client CA cannot be used: ${(e as Error).message}`);
  }
  return { options, mutual };
}
