/**
 * The catalogue of streamable applications a Kit App Streaming deployment offers:
 * applications, their versions (newest first) and each version's runtime profiles.
 * The answers follow the shapes NVIDIA's web-viewer sample reads from `/cfg/apps...`.
 */

export interface KitAppProfile {
  /** Profile name, the value a client sends as `profile` in `POST /stream`. */
  id: string;
  name?: string;
  description?: string;
}

export interface KitAppVersion {
  version: string;
  profiles: KitAppProfile[];
}

export interface KitApp {
  id: string;
  name?: string;
  description?: string;
  tags?: string[];
  /** Newest first: the first entry is what `latest` and an omitted version resolve to. */
  versions: KitAppVersion[];
}

export type KitAppCatalogue = KitApp[];

export const defaultKitCatalogue: KitAppCatalogue = [
  {
    id: 'usd-viewer',
    name: 'USD Viewer',
    description: 'Streams a USD stage for viewing, selection and navigation.',
    tags: ['viewer', 'usd'],
    versions: [
      {
        version: '107.0.3',
        profiles: [
          { id: 'default', name: 'Default', description: 'Balanced quality for most networks.' },
          { id: 'high-quality', name: 'High quality', description: 'Higher resolution and bitrate.' },
        ],
      },
      {
        version: '106.5.0',
        profiles: [
          { id: 'default', name: 'Default', description: 'Balanced quality for most networks.' },
          { id: 'high-quality', name: 'High quality', description: 'Higher resolution and bitrate.' },
        ],
      },
    ],
  },
  {
    id: 'usd-composer',
    name: 'USD Composer',
    description: 'Streams a USD authoring application.',
    tags: ['composer', 'usd'],
    versions: [
      {
        version: '107.0.3',
        profiles: [{ id: 'default', name: 'Default', description: 'Balanced quality for most networks.' }],
      },
    ],
  },
];

/** Version names that stand for the newest version, as the public documentation's example sends. */
const latestAliases = new Set(['latest', '']);

export function findApp(catalogue: KitAppCatalogue, appId: string): KitApp | undefined {
  return catalogue.find((app) => app.id === appId);
}

/** Resolves an omitted version or `latest` to the newest version. */
export function findVersion(app: KitApp, version: string | undefined): KitAppVersion | undefined {
  if (version === undefined || latestAliases.has(version)) return app.versions[0];
  return app.versions.find((entry) => entry.version === version);
}

export function findProfile(version: KitAppVersion, profileId: string): KitAppProfile | undefined {
  return version.profiles.find((profile) => profile.id === profileId);
}

export function describeApp(app: KitApp): { id: string; name: string; description: string; tags: string[] } {
  return { id: app.id, name: app.name ?? app.id, description: app.description ?? '', tags: [...(app.tags ?? [])] };
}

export function describeProfile(profile: KitAppProfile): { id: string; name: string; description: string } {
  return { id: profile.id, name: profile.name ?? profile.id, description: profile.description ?? '' };
}

/**
 * Checks a catalogue that arrives as data (from the control endpoint or a caller),
 * so a bad catalogue is refused with a message rather than failing later inside a request.
 * Returns a deep copy, so later changes to the caller's objects do not leak in.
 */
export function parseCatalogue(input: unknown): KitAppCatalogue {
  if (!Array.isArray(input)) throw new TypeError('apps must be an array of {id, versions: [{version, profiles: [{id}]}]}');
  const seenApps = new Set<string>();
  return input.map((app: unknown, appIndex) => {
    const where = `apps[${appIndex}]`;
    if (!isRecord(app)) throw new TypeError(`${where} must be an object`);
    const id = requireString(app.id, `${where}.id`);
    if (seenApps.has(id)) throw new TypeError(`${where}.id '${id}' appears twice`);
    seenApps.add(id);
    if (!Array.isArray(app.versions) || app.versions.length === 0) {
      throw new TypeError(`${where}.versions must be a non-empty array`);
    }
    const versions = app.versions.map((version: unknown, versionIndex): KitAppVersion => {
      const versionWhere = `${where}.versions[${versionIndex}]`;
      if (!isRecord(version)) throw new TypeError(`${versionWhere} must be an object`);
      if (!Array.isArray(version.profiles) || version.profiles.length === 0) {
        throw new TypeError(`${versionWhere}.profiles must be a non-empty array`);
      }
      return {
        version: requireString(version.version, `${versionWhere}.version`),
        profiles: version.profiles.map((profile: unknown, profileIndex): KitAppProfile => {
          const profileWhere = `${versionWhere}.profiles[${profileIndex}]`;
          if (!isRecord(profile)) throw new TypeError(`${profileWhere} must be an object`);
          return {
            id: requireString(profile.id, `${profileWhere}.id`),
            ...optionalString(profile.name, 'name', `${profileWhere}.name`),
            ...optionalString(profile.description, 'description', `${profileWhere}.description`),
          };
        }),
      };
    });
    const tags = app.tags;
    if (tags !== undefined && !(Array.isArray(tags) && tags.every((tag) => typeof tag === 'string'))) {
      throw new TypeError(`${where}.tags must be an array of strings`);
    }
    return {
      id,
      ...optionalString(app.name, 'name', `${where}.name`),
      ...optionalString(app.description, 'description', `${where}.description`),
      ...(tags === undefined ? {} : { tags: [...tags] }),
      versions,
    };
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${where} must be a non-empty string`);
  return value;
}

function optionalString<K extends string>(value: unknown, key: K, where: string): Partial<Record<K, string>> {
  if (value === undefined) return {};
  if (typeof value !== 'string') throw new TypeError(`${where} must be a string`);
  return { [key]: value } as Partial<Record<K, string>>;
}
