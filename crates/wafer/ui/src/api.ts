// Fetch wrapper for the admin API. The session cookie is same-origin, so
// there is nothing to attach; a 401 means the session expired: log in again.
import type { Ban, BanList, EventPage, Info, ModelInfo, Policy, Stats, Suggestion, SuggestionReport, WafEvent, SiteInfo, RuleInfo } from './types';

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public details: string[] = [],
  ) {
    super(message);
  }
}

export function toLogin(): void {
  const here = location.pathname + location.hash;
  location.assign('/login?next=' + encodeURIComponent(here));
}

interface Reply<T> {
  body: T;
  etag: string | null;
}

async function call<T>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
  const init: RequestInit = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  let r: Response;
  try {
    r = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, 'network error: ' + String((e as Error).message ?? e));
  }
  if (r.status === 401) {
    toLogin();
    throw new ApiError(401, 'not logged in');
  }
  let data: unknown = null;
  const text = await r.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!r.ok) {
    const d = (data ?? {}) as { error?: string; details?: unknown };
    const details = Array.isArray(d.details) ? d.details.map(String) : [];
    throw new ApiError(r.status, d.error ?? `${r.status} ${r.statusText}`, details);
  }
  return { body: data as T, etag: r.headers.get('ETag') };
}

/** `?site=NAME`, or nothing for the primary site (the default, else the first). */
const siteQuery = (site?: string) => (site ? '?site=' + encodeURIComponent(site) : '');

export const api = {
  events: (params: URLSearchParams) => call<EventPage>('GET', '/api/events?' + params).then((r) => r.body),
  event: (id: string) => call<WafEvent>('GET', '/api/events/' + encodeURIComponent(id)).then((r) => r.body),
  stats: (params: URLSearchParams) => call<Stats>('GET', '/api/stats?' + params).then((r) => r.body),
  policy: (site?: string) => call<Policy>('GET', '/api/policy' + siteQuery(site)),
  putPolicy: (p: Policy, etag: string | null, site?: string) =>
    call<Policy>('PUT', '/api/policy' + siteQuery(site), p, etag ? { 'If-Match': etag } : {}),
  exclude: (path: string, rule: string, site?: string) =>
    call<Policy>('POST', '/api/policy/exclusions' + siteQuery(site), { path, rule }).then((r) => r.body),
  ipList: (list: 'block' | 'allow', cidr: string, site?: string) =>
    call<Policy>('POST', '/api/policy/ip' + siteQuery(site), { list, cidr }).then((r) => r.body),
  suggestions: (params: URLSearchParams) => call<SuggestionReport>('GET', '/api/suggestions?' + params).then((r) => r.body),
  acceptSuggestion: (id: string, params: Record<string, string>) =>
    call<{ accepted: Suggestion; policy: Policy }>('POST', '/api/suggestions/accept', { id, ...params }).then((r) => r.body),
  model: () => call<ModelInfo>('GET', '/api/model').then((r) => r.body),
  activateModel: (version: string) => call<ModelInfo>('POST', '/api/model/activate', { version }).then((r) => r.body),
  rollbackModel: () => call<ModelInfo>('POST', '/api/model/rollback', {}).then((r) => r.body),
  bans: () => call<BanList>('GET', '/api/bans').then((r) => r.body),
  ban: (ip: string, minutes?: number, reason?: string) =>
    call<Ban>('POST', '/api/bans', { ip, ...(minutes !== undefined ? { minutes } : {}), ...(reason ? { reason } : {}) }).then((r) => r.body),
  liftBan: (ip: string) => call<null>('DELETE', '/api/bans/' + encodeURIComponent(ip)).then(() => undefined),
  info: () => call<Info>('GET', '/api/info').then((r) => r.body),
  sites: () => call<{ sites: SiteInfo[] }>('GET', '/api/sites').then((r) => r.body.sites),
  rules: () => call<{ rules: RuleInfo[] }>('GET', '/api/rules').then((r) => r.body.rules),
  logout: () => fetch('/logout', { method: 'POST', credentials: 'same-origin', redirect: 'manual' }),
};
