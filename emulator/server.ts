import { mkdtempSync } from 'node:fs';
import http, { STATUS_CODES } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { commonControlRoutes } from './control-api';
import { dataBoxApi } from './databox/api';
import { dataBoxControlRoutes } from './databox/control';
import { DataBoxJobs } from './databox/jobs';
import { DEFAULT_REGIONS_FILE, RegionCatalogue } from './databox/regions';
import { DataBoxService } from './databox/service';
import { EmulatorCore } from './emulator';
import { send } from './http';
import { ArmError } from './errors';
import { IMPORT_EXPORT_API_VERSIONS, importExportApi } from './importexport-api';
import { JobService } from './jobs';
import { DEFAULT_LOCATIONS_FILE, LocationCatalogue } from './locations';
import { JOB_STATES, Store, type JobState } from './store';
import { ensureCertificate } from './tls';

export type { RequestLogEntry } from './emulator';
export const SUPPORTED_API_VERSIONS = IMPORT_EXPORT_API_VERSIONS;
export const DEFAULT_CANCEL_WINDOW: JobState[] = ['Creating'];

export interface EmulatorOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  httpPort?: number;
  /** 0 (default) picks a free port; null disables HTTPS. */
  httpsPort?: number | null;
  /** Default: a fresh temporary directory. */
  dataDir?: string;
  /** The Import/Export sites. */
  locationsFile?: string;
  /** The Data Box regions and their datacenter addresses. */
  regionsFile?: string;
  /** Import/Export job states in which `cancelRequested: true` is accepted. Default: ['Creating']. */
  cancelWindow?: string[];
  /** One line per request (method, path, status, ms). Default: silent. */
  logger?: (line: string) => void;
  /** A request (headers and body) must arrive within this time, else 408 (default: Node's 300 s; headers 60 s). */
  requestTimeoutMs?: number;
}

export interface RunningEmulator {
  httpUrl: string;
  httpsUrl: string | undefined;
  caCertPath: string | undefined;
  dataDir: string;
  close(): Promise<void>;
}

function urlFor(proto: string, host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `${proto}://${h}:${port}`;
}

function listen(server: http.Server | https.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function parseCancelWindow(states: string[]): JobState[] {
  return states.map((s) => {
    const st = JOB_STATES.find((x) => x.toLowerCase() === s.trim().toLowerCase());
    if (!st) throw new Error(`cancelWindow: unknown job state '${s}' (states: ${JOB_STATES.join(', ')})`);
    return st;
  });
}

/**
 * Answers what Node's HTTP parser rejects before any handler runs (bad request lines, non-ASCII targets, unknown
 * methods, over-long headers) in the ARM envelope too; bytes that are not HTTP at all just close the connection.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') answerRaw(socket, new ArmError(408, 'RequestTimeout', 'The request did not arrive in time.'));
  else if (err.code === 'HPE_HEADER_OVERFLOW') answerRaw(socket, new ArmError(431, 'RequestHeaderFieldsTooLarge', 'The request headers are too large.'));
  else if (err.code === 'HPE_INVALID_METHOD') answerRaw(socket, new ArmError(405, 'MethodNotAllowed', 'The request method is not supported.'));
  else answerRaw(socket, new ArmError(400, 'BadRequest', `The request could not be parsed as HTTP/1.1 (${err.code ?? 'parse error'}).`));
}

/** Writes an ARM error straight to a socket Node's HTTP layer has given up on, and closes it. */
function answerRaw(socket: Duplex, error: ArmError): void {
  // Node no longer listens on this socket: a reset from the client must not become an unhandled 'error'.
  if (socket.listenerCount('error') === 0) socket.on('error', () => socket.destroy());
  const body = JSON.stringify(error.body());
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Starts the emulator (HTTP, and HTTPS unless `httpsPort: null`): Microsoft.ImportExport and Microsoft.DataBox. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? '127.0.0.1';
  const dataDir = path.resolve(options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'ie-emulator-')));
  const locations = LocationCatalogue.load(options.locationsFile ?? DEFAULT_LOCATIONS_FILE);
  const regions = RegionCatalogue.load(options.regionsFile ?? DEFAULT_REGIONS_FILE);
  const cancelWindow = parseCancelWindow(options.cancelWindow ?? DEFAULT_CANCEL_WINDOW);
  const store = new Store(dataDir);
  const jobs = new JobService(store, locations, cancelWindow);
  const dataBoxJobs = new DataBoxJobs(store, regions);
  const expireAll = (force: boolean) => {
    store.expire();
    dataBoxJobs.expire(force);
  };
  const core: EmulatorCore = new EmulatorCore(
    [importExportApi(jobs, locations, store), dataBoxApi(dataBoxJobs, new DataBoxService(store, regions), store)],
    [
      ...commonControlRoutes(() => core, store, jobs, locations, { resetAll: () => store.reset(), expireAll: () => expireAll(true) }),
      ...dataBoxControlRoutes(dataBoxJobs, regions, store),
    ],
    () => expireAll(false),
    () => store.now(),
    options.logger ?? (() => undefined),
  );

  const servers: Array<http.Server | https.Server> = [];
  const serve = (server: http.Server | https.Server) => {
    server.on('clientError', answerClientError);
    // CONNECT and Upgrade requests bypass the request listener: answer CONNECT with 405, serve the other as plain HTTP.
    server.on('checkExpectation', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      const error = new ArmError(417, 'ExpectationFailed', "Only 'Expect: 100-continue' is supported.");
      send(res, { status: 417, body: error.body(), headers: { Connection: 'close' } });
    });
    server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => answerRaw(socket, new ArmError(405, 'MethodNotAllowed', 'CONNECT is not supported.')));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
      socket.on('error', () => socket.destroy());
      const res = new http.ServerResponse(req);
      res.shouldKeepAlive = false;
      res.assignSocket(socket as Socket);
      res.on('finish', () => {
        res.detachSocket(socket as Socket);
        socket.end();
      });
      core.handle(req, res);
    });
    servers.push(server);
    return server;
  };
  // Idle keep-alive connections stay open for minutes, as Azure's front ends keep them: with Node's 5 s default a
  // client reusing a socket the server is just closing got ECONNRESET (a retried AzureNetworkError) under load.
  const keepAlive = { keepAliveTimeout: 120_000 };
  const timeouts =
    options.requestTimeoutMs === undefined
      ? keepAlive
      : { ...keepAlive, requestTimeout: options.requestTimeoutMs, headersTimeout: Math.min(options.requestTimeoutMs, 60_000), connectionsCheckingInterval: Math.min(options.requestTimeoutMs, 30_000) };
  const httpServer = serve(http.createServer({ requireHostHeader: false, ...timeouts }, core.handle));
  let httpsUrl: string | undefined;
  let caCertPath: string | undefined;
  try {
    const httpPort = await listen(httpServer, options.httpPort ?? 0, host);
    const httpUrl = urlFor('http', host, httpPort);
    if (options.httpsPort !== null) {
      const cert = await ensureCertificate(dataDir, host);
      const httpsServer = serve(https.createServer({ cert: cert.cert, key: cert.key, requireHostHeader: false, ...timeouts }, core.handle));
      httpsServer.on('tlsClientError', (_err, socket) => socket.destroy());
      const httpsPort = await listen(httpsServer, options.httpsPort ?? 0, host);
      httpsUrl = urlFor('https', host, httpsPort);
      caCertPath = cert.certPath;
    }
    let closed: Promise<void> | undefined;
    return {
      httpUrl,
      httpsUrl,
      caCertPath,
      dataDir,
      close() {
        closed ??= (async () => {
          core.wakeSleepers();
          await Promise.all(
            servers.map(
              (s) =>
                new Promise<void>((resolve) => {
                  s.close(() => resolve());
                  s.closeAllConnections();
                }),
            ),
          );
          store.flush();
        })();
        return closed;
      },
    };
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
}
