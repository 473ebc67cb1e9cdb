/**
 * The secret must never reach a page, even when the upstream echoes it (in an error message, say), so everything
 * headed back to the page passes through a redactor first.
 */

/** A function that replaces the secret with `[redacted]` in a text, however the upstream spelled it. */
export function secretRedactor(secret: string): (text: string) => string {
  const forms = secretSpellings(secret);
  return (text) => {
    let result = text;
    for (const form of forms) result = result.split(form).join('[redacted]');
    return result;
  };
}

/** The secret as it could appear in a body: raw, JSON-escaped or percent-encoded. */
function secretSpellings(secret: string): string[] {
  const forms = new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]);
  return [...forms].filter((form) => form !== '');
}
