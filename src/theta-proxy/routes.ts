/**
 * The calls the proxy forwards, and the rules that refuse everything else before anything goes upstream: unknown
 * paths and methods, ids that are not ids, another account's streams, and query values that are not what the
 * service documents.
 */

/** Why a request is not forwarded; `status` and `message` are what the page gets. */
export interface ProxyRefusal {
  status: number;
  message: string;
  /** For a 405, the methods the call does accept, as an `Allow` header. */
  allow?: string;
}

/** A request the rules let through: where it goes upstream, and whether it carries a JSON body. */
export interface ProxyCall {
  upstreamUrl: URL;
  hasBody: boolean;
}

/** Where the proxy is mounted and whom it acts for, as {@link resolveCall} needs them. */
export interface CallTarget {
  /** Origin and path prefix of the upstream, without a trailing slash. */
  upstream: string;
  /** `''`, or a prefix such as `/api/theta` without a trailing slash. */
  basePath: string;
  serviceAccountId: string;
}

/** Ids the service issues (`stream_...`, `srvacc_...`, `0x...`): no dots, slashes or escapes, so no path tricks. */
export const idPattern = /^[A-Za-z0-9_-]{1,128}$/;

interface ProxyRoute {
  /** Matches the path after `basePath`; capture groups are ids. */
  pattern: RegExp;
  /** What each capture group is, for error messages. */
  idNames: string[];
  methods: readonly string[];
  /** Whether the call carries a JSON body (`{}` when the page sends none). */
  hasBody: boolean;
  /** Query parameters passed through to the upstream; all others are dropped. */
  query?: readonly QueryParameter[];
  upstreamPath(ids: string[], serviceAccountId: string): string | ProxyRefusal;
}

interface QueryParameter {
  name: string;
  /** Why a value is refused (a 400), or `undefined` when it may be forwarded; no check forwards any value. */
  refuse?: (value: string) => string | undefined;
}

/**
 * The calls the proxy forwards. Besides the documented ones, `GET /service_account/me/streams`
 * lists the configured account's streams, so a page needs no account id at all.
 */
const routes: readonly ProxyRoute[] = [
  {
    pattern: /^\/stream$/,
    idNames: [],
    methods: ['POST'],
    hasBody: true,
    upstreamPath: () => '/stream',
  },
  {
    pattern: /^\/stream\/([^/]+)$/,
    idNames: ['stream id'],
    methods: ['GET', 'DELETE'],
    hasBody: false,
    upstreamPath: ([streamId]) => `/stream/${streamId}`,
  },
  {
    pattern: /^\/service_account\/([^/]+)\/streams$/,
    idNames: ['service account id'],
    methods: ['GET'],
    hasBody: false,
    // Refused here rather than by the service, so nothing unchecked from the page is forwarded.
    query: [{ name: 'status', refuse: (value) => (value === 'on' || value === 'off' ? undefined : 'status must be on or off') }],
    upstreamPath: ([accountId], serviceAccountId) =>
      accountId === 'me' || accountId === serviceAccountId
        ? `/service_account/${serviceAccountId}/streams`
        : { status: 403, message: 'This proxy only lists the streams of its own service account' },
  },
  {
    pattern: /^\/ingestor\/filter$/,
    idNames: [],
    methods: ['GET'],
    hasBody: false,
    // Public code passes metres (40000000, about the Earth's circumference, to list every ingestor); the
    // unit is not documented, so the proxy only checks that it is a plain non-negative number.
    query: [
      {
        name: 'max_distance',
        refuse: (value) =>
          /^\d{1,12}(\.\d{1,6})?$/.test(value) ? undefined : 'max_distance must be a non-negative number, such as 40000000',
      },
    ],
    upstreamPath: () => '/ingestor/filter',
  },
  {
    pattern: /^\/ingestor\/([^/]+)\/select$/,
    idNames: ['ingestor id'],
    methods: ['PUT'],
    hasBody: true,
    upstreamPath: ([ingestorId]) => `/ingestor/${ingestorId}/select`,
  },
  {
    pattern: /^\/ingestor\/([^/]+)\/unselect$/,
    idNames: ['ingestor id'],
    methods: ['PUT'],
    hasBody: true,
    upstreamPath: ([ingestorId]) => `/ingestor/${ingestorId}/unselect`,
  },
];

/**
 * The upstream call a request maps to, or why it is refused. Only the query parameters a route names are forwarded,
 * each at most once and only with a value its check accepts.
 * @param method The request's method, upper-cased.
 */
export function resolveCall(requestUrl: string, method: string, target: CallTarget): ProxyCall | ProxyRefusal {
  const url = new URL(requestUrl);
  const path = stripBasePath(url.pathname, target.basePath);
  const route = path === null ? undefined : routes.find((candidate) => candidate.pattern.test(path));
  if (path === null || !route) return { status: 404, message: 'Not a Theta livestream call' };
  if (!route.methods.includes(method)) {
    return { status: 405, message: `Method ${method} is not allowed for this call`, allow: [...route.methods, 'OPTIONS'].join(', ') };
  }
  const ids = (route.pattern.exec(path) ?? []).slice(1);
  for (const [index, id] of ids.entries()) {
    if (!idPattern.test(id)) return { status: 400, message: `Invalid ${route.idNames[index] ?? 'id'}` };
  }
  const upstreamPath = route.upstreamPath(ids, target.serviceAccountId);
  if (typeof upstreamPath !== 'string') return upstreamPath;

  const upstreamUrl = new URL(target.upstream + upstreamPath);
  for (const { name, refuse } of route.query ?? []) {
    const values = url.searchParams.getAll(name);
    if (values.length > 1) return { status: 400, message: `${name} may be given only once` };
    if (values.length === 0) continue;
    const refusal = refuse?.(values[0]);
    if (refusal !== undefined) return { status: 400, message: refusal };
    upstreamUrl.searchParams.set(name, values[0]);
  }
  return { upstreamUrl, hasBody: route.hasBody };
}

function stripBasePath(pathname: string, basePath: string): string | null {
  if (basePath === '') return pathname;
  if (!pathname.startsWith(`${basePath}/`)) return null;
  return pathname.slice(basePath.length);
}
