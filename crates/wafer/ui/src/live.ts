// Live data: one shared WebSocket for per-second telemetry (reconnecting with
// backoff), and Server-Sent Events for filtered event streams.
import { api } from './api';
import type { Telemetry, WafEvent } from './types';

// EventSource and WebSocket hide the HTTP status of a failed connect, so after
// a drop ask the API once: if the session expired, api.ts goes to /login.
let lastProbe = 0;
function probeSession(): void {
  const now = Date.now();
  if (now - lastProbe < 5000) return;
  lastProbe = now;
  api.info().catch(() => {});
}

type TelemetryFn = (t: Telemetry) => void;
type StatusFn = (connected: boolean) => void;

const telemetrySubs = new Set<TelemetryFn>();
// The last minute of telemetry, so a view opened later starts with history.
const recent: Telemetry[] = [];
const statusSubs = new Set<StatusFn>();
let ws: WebSocket | null = null;
let backoff = 500;
let connected = false;

function setConnected(c: boolean) {
  connected = c;
  for (const f of statusSubs) f(c);
}

function connect(): void {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  const sock = new WebSocket(url);
  ws = sock;
  sock.onopen = () => {
    backoff = 500;
    setConnected(true);
  };
  sock.onmessage = (m) => {
    let msg: { type?: string };
    try {
      msg = JSON.parse(String(m.data));
    } catch {
      return;
    }
    if (msg.type !== 'telemetry') return;
    recent.push(msg as Telemetry);
    if (recent.length > 60) recent.shift();
    for (const f of telemetrySubs) f(msg as Telemetry);
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    setConnected(false);
    probeSession();
    // Exponential backoff with jitter so many tabs do not reconnect in step.
    const wait = backoff + Math.random() * 250;
    backoff = Math.min(backoff * 2, 15000);
    setTimeout(connect, wait);
  };
}

export function recentTelemetry(): Telemetry[] {
  return recent.slice();
}

export function onTelemetry(f: TelemetryFn): () => void {
  telemetrySubs.add(f);
  if (!ws) connect();
  return () => telemetrySubs.delete(f);
}

export function onLiveStatus(f: StatusFn): () => void {
  statusSubs.add(f);
  f(connected);
  return () => statusSubs.delete(f);
}

export interface Stream {
  close(): void;
}

/** Follows `/events` with the given filters. EventSource reconnects itself. */
export function streamEvents(
  params: URLSearchParams,
  onEvent: (e: WafEvent) => void,
  onLagged: (missed: number) => void,
  onState: (open: boolean) => void,
): Stream {
  const es = new EventSource('/events?' + params.toString(), { withCredentials: true });
  es.addEventListener('waf', (m) => {
    try {
      onEvent(JSON.parse((m as MessageEvent).data) as WafEvent);
    } catch {
      /* a malformed frame is skipped, the stream goes on */
    }
  });
  es.addEventListener('lagged', (m) => {
    try {
      onLagged(Number(JSON.parse((m as MessageEvent).data).missed) || 0);
    } catch {
      onLagged(0);
    }
  });
  es.onopen = () => onState(true);
  es.onerror = () => {
    onState(false);
    probeSession();
  };
  return { close: () => es.close() };
}
