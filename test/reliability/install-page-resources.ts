/** Imported first by a test file, so that the counters wrap the page's APIs before the elements' modules load. */
import { installPageResources } from '../support/page-resources.js';

installPageResources();
