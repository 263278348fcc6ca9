// Rule names for the views that show rule ids (fetched once a page load).
import { api } from './api';
import type { RuleInfo } from './types';

let catalogue: Promise<Map<string, RuleInfo>> | null = null;

/** The rules by id (as text); empty if the server has no /api/rules. */
export function ruleCatalogue(): Promise<Map<string, RuleInfo>> {
  catalogue ??= api.rules()
    .then((rules) => new Map(rules.map((r) => [String(r.id), r])))
    .catch(() => new Map());
  return catalogue;
}

/** "description (CRS 942100, 942190)" for a rule id, or undefined when unknown. */
export function ruleTitle(rules: Map<string, RuleInfo>, id: string): string | undefined {
  const r = rules.get(id);
  if (!r) return undefined;
  return r.crs.length ? `${r.description} (CRS ${r.crs.join(', ')})` : r.description;
}
