// Shapes of the admin API's JSON (see the server's /api/openapi.json).

export type Action = 'allow' | 'flag' | 'block';
export type Severity = 'critical' | 'error' | 'warning' | 'notice' | string;

export interface Finding {
  rule_id: number;
  class: string;
  severity: Severity;
  paranoia?: number;
  location: { part: string; name?: string | null };
  value: string;
  matched: string;
  message: string;
  score: number;
  /** The OWASP CRS rules that detect the same construct (absent: none, or an older event). */
  crs?: number[];
}

export interface WafEvent {
  id: string;
  ts_ms: number;
  client_ip: string;
  method: string;
  host: string;
  /** The site the request was routed to (absent in events from before sites). */
  site?: string;
  path: string;
  query: string | null;
  user_agent: string | null;
  action: Action;
  status: number;
  score: number;
  threshold: number;
  mode: string;
  route: string | null;
  reason: string | null;
  headers?: [string, string][];
  findings: Finding[];
  inspect_us: number;
  dropped_before?: number;
  anomaly?: AnomalyVerdict | null;
}

export interface AnomalyDriver {
  name: string;
  value: number;
  deviation: number;
}

export interface AnomalyVerdict {
  model?: string;
  score: number;
  threshold: number;
  anomalous: boolean;
  mode?: string;
  top?: AnomalyDriver[];
}

export interface EventPage {
  events: WafEvent[];
  next_cursor: string | null;
}

export interface Bucket {
  ts_ms: number;
  requests: number;
  allowed: number;
  blocked: number;
  flagged: number;
  by_class: Record<string, number>;
  by_status: Record<string, number>;
  p50_us: number | null;
  p99_us: number | null;
}

export interface Top {
  key: string;
  count: number;
}

export interface Stats {
  from_ms: number;
  to_ms: number;
  bucket_ms: number;
  series: Bucket[];
  top_ips: Top[];
  top_paths: Top[];
  top_rules: Top[];
  top_classes: Top[];
  score_histogram: Top[];
}

export interface Telemetry {
  type: 'telemetry';
  ts_ms: number;
  requests: number;
  allowed: number;
  blocked: number;
  flagged: number;
  bytes_in: number;
  bytes_out: number;
  statuses: Record<string, number>;
  p50_us: number | null;
  p99_us: number | null;
}

export interface RouteOverride {
  path: string;
  mode?: string | null;
  threshold?: number | null;
  paranoia?: number | null;
  disabled_rules?: string[];
  anomaly_mode?: string | null;
  anomaly_threshold?: number | null;
}

export interface AnomalyPolicy {
  mode: 'detect' | 'block' | 'off';
  threshold?: number;
}

/** Rules that do not count on a path; with `args`, only in those arguments. */
export interface Exclusion {
  path: string;
  rules: string[];
  args?: string[];
}

export interface Suggestion {
  id: string;
  rules: { rule_id: number; class: string; message: string; clients: number; requests: number }[];
  path: string;
  location: { part: string; name?: string };
  exclusion: Exclusion;
  evidence: {
    clients: number;
    requests: number;
    first_seen_ms: number;
    last_seen_ms: number;
    examples: string[];
    counter_evidence: number;
    banned_clients: number;
  };
  preview: {
    blocked: number;
    would_pass: number;
    examples: { id: string; path: string; score: number; score_after: number; threshold: number }[];
  };
}

export interface SuggestionReport {
  suggestions: Suggestion[];
  scanned: number;
  max_events: number;
  truncated: boolean;
  from_ms: number;
  oldest_scanned_ms: number | null;
  min_clients: number;
  window_ms: number;
}

/** One rate limit: `rate` like 100/s, 600/m, 5000/h; `key` ip, header:NAME or cookie:NAME. */
export interface RateLimit {
  name?: string;
  path?: string;
  key?: string;
  rate?: string;
  burst?: number;
}

/** Blocked requests within `within_secs` that earn a ban of `minutes` (after 0: no bans). */
export interface BanSettings {
  after?: number;
  within_secs?: number;
  minutes?: number;
}

export interface Policy {
  mode: 'block' | 'detect' | 'off';
  paranoia: number;
  threshold: number;
  disabled_rules: string[];
  routes: RouteOverride[];
  exclusions: Exclusion[];
  ip: { allow: string[]; block: string[] };
  anomaly?: AnomalyPolicy;
  /** Absent from servers before per-site rate limits. */
  rate_limits?: RateLimit[];
  bans?: BanSettings;
  [extra: string]: unknown;
}

export interface Info {
  version?: string;
  node?: string;
  started_ms?: number;
  store?: string;
  rules?: number;
  mode?: string;
}

export interface ModelVersionInfo {
  version: string;
  active: boolean;
  created_ms: number;
  fingerprint: string;
  format_version?: number;
  schema_version?: number;
  params?: { trees?: number; sample_size?: number; seed?: number };
  samples: number;
  target_fpr: number;
  threshold: number;
  score_quantiles?: Partial<Record<'p50' | 'p90' | 'p99' | 'p999' | 'max', number>>;
}

export interface ModelInfo {
  available: boolean;
  message?: string;
  learning?: boolean;
  learned?: {
    requests: number;
    of: number;
    state?: string;
    reason?: string;
    bytes?: number;
    max_bytes?: number;
    clients?: number;
    min_clients?: number;
    max_per_client?: number;
    skipped_share?: number;
    skipped_findings?: number;
    skipped_budget?: number;
  };
  mode?: string;
  threshold_override?: number | null;
  active?: { info: ModelVersionInfo; trees: number; routes: number; features: string[] } | null;
  recent?: { scored: number; anomalous: number; bins: number[]; bin_width: number };
  models?: ModelVersionInfo[];
  models_dir?: string;
}

export const CLASSES = [
  'sqli', 'xss', 'rce', 'lfi', 'rfi', 'ssrf', 'php', 'java', 'ssti', 'nosqli',
  'xxe', 'scanner', 'protocol', 'session', 'generic', 'policy', 'anomaly', 'ssi', 'ldapi', 'mail',
] as const;

export interface Ban {
  ip: string;
  until_ms: number;
  reason?: string | null;
}

export interface BanPolicy {
  /** 0: automatic bans are off. */
  after: number;
  within_secs: number;
  minutes: number;
}

export interface BanList {
  bans: Ban[];
  policy: BanPolicy;
  /** Shared across the cluster through Redis. */
  shared: boolean;
}

/** `GET /api/sites`: one upstream server as it stands. */
export interface SiteServer {
  url: string;
  weight: number;
  /** up, down (its health check), or ejected (after failures, for a while). */
  state: 'up' | 'down' | 'ejected';
  in_flight: number;
  requests: number;
  failures: number;
  ejections: number;
}

export interface SiteInfo {
  name: string;
  hosts: string[];
  default: boolean;
  mode: string;
  threshold: number;
  https_redirect: boolean;
  hsts: boolean;
  balance: string;
  servers: SiteServer[];
  /** Sites whose certificate comes from ACME: its end, the last failure. */
  acme?: { not_after_ms: number | null; last_error: string | null; retry_at_ms: number | null } | null;
}

/** `GET /api/rules`: one rule or detector check. */
export interface RuleInfo {
  id: number;
  class: string;
  severity: string;
  paranoia: number;
  description: string;
  source: string;
  weak: boolean;
  crs: number[];
  tags: string[];
}
