import type { ParsedBody } from '../shared/http.js';
import { findApp, findProfile, findVersion, type KitAppCatalogue } from './catalogue.js';

/** FastAPI's shape for one validation problem inside a 422 answer's `detail` array. */
export interface ValidationIssue {
  loc: string[];
  msg: string;
  type: string;
}

/** A `POST /stream` request that passed validation, with its version resolved against the catalogue. */
export interface StreamRequest {
  appId: string;
  profile: string;
  /** The concrete version the session runs, `latest` or an omitted version resolved to the newest. */
  version: string;
  usdStageUri?: string;
  arguments: Record<string, unknown>;
}

export type StreamRequestCheck = { ok: true; request: StreamRequest } | { ok: false; issues: ValidationIssue[] };

/**
 * Validates a `POST /stream` body the way the FastAPI service does: first the shape (every
 * field problem at once), then the catalogue (application, then version, then profile),
 * with messages that name what is available.
 */
export function checkStreamRequest(body: ParsedBody, catalogue: KitAppCatalogue): StreamRequestCheck {
  if (!body.json && body.value !== null) {
    return {
      ok: false,
      issues: [
        {
          loc: ['body'],
          msg: 'JSON decode error: the body is not valid JSON. Send a JSON object like {"id": "usd-viewer", "profile": "default"}.',
          type: 'json_invalid',
        },
      ],
    };
  }
  // An empty body is reported field by field, as FastAPI does for a body of `{}`.
  const value = body.value ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      issues: [
        { loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', type: 'model_attributes_type' },
      ],
    };
  }
  const fields = value as Record<string, unknown>;
  const issues: ValidationIssue[] = [];
  const requireString = (name: string): string | undefined => {
    const field = fields[name];
    if (field === undefined) {
      issues.push({ loc: ['body', name], msg: 'Field required', type: 'missing' });
      return undefined;
    }
    if (typeof field !== 'string') {
      issues.push({ loc: ['body', name], msg: 'Input should be a valid string', type: 'string_type' });
      return undefined;
    }
    return field;
  };
  const appId = requireString('id');
  const profile = requireString('profile');
  let version: string | undefined;
  if (fields.version !== undefined && fields.version !== null) {
    if (typeof fields.version === 'string') version = fields.version;
    else issues.push({ loc: ['body', 'version'], msg: 'Input should be a valid string', type: 'string_type' });
  }
  let args: Record<string, unknown> = {};
  let usdStageUri: string | undefined;
  if (fields.arguments !== undefined && fields.arguments !== null) {
    if (typeof fields.arguments !== 'object' || Array.isArray(fields.arguments)) {
      issues.push({ loc: ['body', 'arguments'], msg: 'Input should be a valid dictionary', type: 'dict_type' });
    } else {
      args = { ...(fields.arguments as Record<string, unknown>) };
      const uri = args.usd_stage_uri;
      if (uri !== undefined && uri !== null) {
        if (typeof uri === 'string') usdStageUri = uri;
        else issues.push({ loc: ['body', 'arguments', 'usd_stage_uri'], msg: 'Input should be a valid string', type: 'string_type' });
      }
    }
  }
  if (issues.length > 0 || appId === undefined || profile === undefined) return { ok: false, issues };

  const app = findApp(catalogue, appId);
  if (!app) {
    const known = catalogue.map((entry) => entry.id).join(', ') || '(none)';
    return {
      ok: false,
      issues: [
        {
          loc: ['body', 'id'],
          msg: `Unknown application '${appId}'. Available applications: ${known}. GET /cfg/apps lists them.`,
          type: 'value_error',
        },
      ],
    };
  }
  const appVersion = findVersion(app, version);
  if (!appVersion) {
    const known = app.versions.map((entry) => entry.version).join(', ');
    return {
      ok: false,
      issues: [
        {
          loc: ['body', 'version'],
          msg: `Application '${app.id}' has no version '${version}'. Available versions: ${known}; omit the version or send 'latest' for the newest.`,
          type: 'value_error',
        },
      ],
    };
  }
  if (!findProfile(appVersion, profile)) {
    const known = appVersion.profiles.map((entry) => entry.id).join(', ');
    return {
      ok: false,
      issues: [
        {
          loc: ['body', 'profile'],
          msg: `Application '${app.id}' version '${appVersion.version}' has no profile '${profile}'. Available profiles: ${known}.`,
          type: 'value_error',
        },
      ],
    };
  }
  return {
    ok: true,
    request: {
      appId: app.id,
      profile,
      version: appVersion.version,
      ...(usdStageUri === undefined ? {} : { usdStageUri }),
      arguments: args,
    },
  };
}

export interface Page {
  limit: number;
  offset: number;
}

export const defaultPageLimit = 50;

/** Reads `limit` and `offset` query parameters with FastAPI's integer validation. */
export function checkPage(query: Record<string, string>): { ok: true; page: Page } | { ok: false; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const readInteger = (name: string, fallback: number, minimum: number): number => {
    const raw = query[name];
    if (raw === undefined) return fallback;
    if (!/^\s*[-+]?\d+\s*$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
      issues.push({
        loc: ['query', name],
        msg: 'Input should be a valid integer, unable to parse string as an integer',
        type: 'int_parsing',
      });
      return fallback;
    }
    const value = Number(raw);
    if (value < minimum) {
      issues.push({ loc: ['query', name], msg: `Input should be greater than or equal to ${minimum}`, type: 'greater_than_equal' });
      return fallback;
    }
    return value;
  };
  const limit = readInteger('limit', defaultPageLimit, 1);
  const offset = readInteger('offset', 0, 0);
  return issues.length > 0 ? { ok: false, issues } : { ok: true, page: { limit, offset } };
}

/** The `{offset, limit, count, items}` list shape the API uses; `count` is the total before paging. */
export function paginate<T>(items: T[], page: Page): { offset: number; limit: number; count: number; items: T[] } {
  return { offset: page.offset, limit: page.limit, count: items.length, items: items.slice(page.offset, page.offset + page.limit) };
}
