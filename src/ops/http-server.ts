// The management HTTP listener (--http): GET /metrics (Prometheus text), /healthz (the process
// answers: alive) and /readyz (200 "ready", or 503 with one line saying why not). No auth: it
// listens on loopback unless told otherwise. Anything else is 404; a failing scrape is 500.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ManagementSource {
  /** The Prometheus exposition and its content type. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** null when ready, else why not (one line). */
  notReady(): Promise<string | null>;
}

export interface ManagementServer {
  port: number;
  close(): Promise<void>;
}

export async function listenManagement(host: string, port: number, source: ManagementSource): Promise<ManagementServer> {
  const server: Server = createServer((req, res) => void answer(req, res, source));
  // A scraper that keeps its connection open must not hold up shutdown.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, source: ManagementSource): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
  try {
    if (path === '/healthz') return send(res, 200, 'ok\n');
    if (path === '/readyz') {
      const why = await source.notReady();
      return why === null ? send(res, 200, 'ready\n') : send(res, 503, `not ready: ${why}\n`);
    }
    if (path === '/metrics') {
      const { contentType, body } = await source.metrics();
      return send(res, 200, body, contentType);
    }
    send(res, 404, 'not found: /metrics, /healthz, /readyz\n');
  } catch (err) {
    send(res, 500, `error: ${(err as Error)?.message ?? String(err)}\n`);
  }
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
