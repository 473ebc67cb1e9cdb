import { type CSSResult, unsafeCSS } from 'lit';

/**
 * Lit's `css` tag for the elements' styles, which are plain CSS without interpolations (the type allows none). Lit's
 * own tag checks each interpolated value, and that check and its message would otherwise ship in every CDN file.
 * The build's template minifier finds these templates by the `css` tag name.
 */
export const css = ([text]: TemplateStringsArray): CSSResult => unsafeCSS(text);
