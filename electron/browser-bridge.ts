// The browser bridge: serves the built renderer and carries the IPC contract over one WebSocket, so the
// same UI runs in a plain browser against the real main-process modules (demo mode, browser tests).
//
// It listens on 127.0.0.1 only, and the WebSocket requires a random token that is only in the URL we
// print, so neither another local user nor a web page can drive the helper through it. Host and Origin
// are checked too (DNS rebinding). Wire format, one JSON object per WebSocket message:
//   page -> bridge  { t: 'invoke', id, channel, request }
//   bridge -> page  { t: 'reply', id, reply }   and   { t: 'push', channel, payload }
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { IPC_CHANNEL_PREFIX, type IpcReply, type IpcServerTransport } from '../contract/ipc-schema';
import { RateLimitedLog } from '../log/logger';

/** Largest message a page may send (an imported profiles file is at most 1 MiB, as text in JSON). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** A page holds one WebSocket and fetches a handful of files: more than this is someone else. */
const MAX_CONNECTIONS = 64;
/** A request's headers must arrive within this (slow-header peers hold a connection slot). */
const HEADERS_TIMEOUT_MS = 10_000;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export interface BrowserBridge {
  /** Open this in a browser: it carries the token. */
  url: string;
  port: number;
  token: string;
  transport: IpcServerTransport;
  close(): Promise<void>;
}

export interface BrowserBridgeOptions {
  /** The renderer build (dist/renderer). */
  staticDir: string;
  /** 0 (default): any free port. */
  port?: number;
  log?: (line: string) => void;
}

export async function startBrowserBridge(opts: BrowserBridgeOptions): Promise<BrowserBridge> {
  const token = randomBytes(24).toString('hex');
  // Everything here can be triggered by any local process, token or not: one line a second at most.
  const limited = new RateLimitedLog(opts.log ?? (() => undefined), 1000);
  const handlers = new Map<string, (request: unknown) => Promise<IpcReply<unknown>>>();
  const sockets = new Set<WebSocket>();
  let port = 0;

  const allowedHost = (host: string | undefined) => host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  const tokenMatches = (given: string | null) =>
    given !== null && given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));

  const server = http.createServer((req, res) => {
    // Any failure below is the request's fault (a path we cannot decode, a file that vanished):
    // that one request gets a 4xx, the bridge keeps serving.
    handleRequest(req, res).catch((err: unknown) => {
      limited.event('request', `bad request ${JSON.stringify(String(req.url).slice(0, 80))}: ${errorText(err)}`);
      if (!res.headersSent) res.writeHead(400).end('bad request\n');
      else res.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = HEADERS_TIMEOUT_MS;

  async function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!allowedHost(req.headers.host)) {
      res.writeHead(421).end('wrong host\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const target = parseRequestTarget(req.url);
    if (target === null) {
      res.writeHead(400).end('bad request\n');
      return;
    }
    await serveStatic(opts.staticDir, target.path, res);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands the raw socket over without its error listener: a peer resetting it must not crash us.
    socket.on('error', () => socket.destroy());
    try {
      const target = parseRequestTarget(req.url);
      const origin = req.headers.origin;
      const originOk = origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
      if (target === null || target.path !== '/ipc' || !allowedHost(req.headers.host) || !originOk || !tokenMatches(target.token)) {
        limited.event('upgrade', `refused a WebSocket from ${req.socket.remoteAddress} (${target?.path ?? 'bad target'}, origin ${origin ?? 'none'})`);
        refuseUpgrade(socket, target === null ? '400 Bad Request' : '403 Forbidden');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        sockets.add(ws);
        ws.on('close', () => sockets.delete(ws));
        // A broken frame or an oversized message: ws reports it here and closes that page only.
        ws.on('error', (err) => limited.event('ws', `closed a page's WebSocket: ${errorText(err)}`));
        ws.on('message', (data) => {
          onMessage(ws, data.toString()).catch((err: unknown) => {
            limited.event('message', `dropped a page's message: ${errorText(err)}`);
            ws.terminate();
          });
        });
      });
    } catch (err) {
      limited.event('upgrade', `refused a WebSocket: ${errorText(err)}`);
      refuseUpgrade(socket, '400 Bad Request');
    }
  });

  async function onMessage(ws: WebSocket, text: string): Promise<void> {
    let msg: { t?: unknown; id?: unknown; channel?: unknown; request?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      ws.close(1003, 'not JSON');
      return;
    }
    if (msg === null || typeof msg !== 'object' || msg.t !== 'invoke' || typeof msg.id !== 'number' || typeof msg.channel !== 'string') {
      ws.close(1003, 'expected { t: "invoke", id, channel, request }');
      return;
    }
    const handler = handlers.get(msg.channel);
    let reply: IpcReply<unknown>;
    try {
      reply = handler
        ? await handler(msg.request)
        : { ok: false, error: { code: 'BAD_REQUEST', message: `no channel ${msg.channel}` } };
    } catch (err) {
      reply = { ok: false, error: { code: 'INTERNAL', message: errorText(err) } };
    }
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ t: 'reply', id: msg.id, reply }));
  }

  const transport: IpcServerTransport = {
    handle: (channel, handler) => {
      if (!channel.startsWith(IPC_CHANNEL_PREFIX)) throw new Error(`not an IPC channel: ${channel}`);
      handlers.set(channel, handler);
    },
    publish: (channel, payload) => {
      const text = JSON.stringify({ t: 'push', channel, payload });
      for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: opts.port ?? 0 }, resolve);
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/?token=${token}`;
  return {
    url, port, token, transport,
    close: async () => {
      for (const ws of sockets) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Reads an origin-form request target ("/path?token=..."). Null for anything else (absolute-form
 * "http://[", "*", a path whose %-escapes do not decode): the caller answers 400.
 */
export function parseRequestTarget(target: string | undefined): { path: string; token: string | null } | null {
  if (target === undefined || !target.startsWith('/') || target.startsWith('//')) return null;
  let url: URL;
  let path: string;
  try {
    url = new URL(target, 'http://bridge.invalid');
    path = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (path.includes('\0')) return null;
  return { path, token: url.searchParams.get('token') };
}

function refuseUpgrade(socket: Duplex, status: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function serveStatic(root: string, decodedPath: string, res: http.ServerResponse): Promise<void> {
  const relative = normalize(decodedPath).replace(/^([/\\])+/, '');
  const path = join(root, relative === '' ? 'index.html' : relative);
  if (path !== root && !path.startsWith(root.endsWith(sep) ? root : root + sep)) {
    res.writeHead(403).end();
    return;
  }
  try {
    const file = (await stat(path)).isDirectory() ? join(path, 'index.html') : path;
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:",
    });
    res.end(body);
  } catch {
    res.writeHead(404).end('not found\n');
  }
}
