// Loaded by every page (base.html): htmx from npm (as an ES module, also at window.htmx) and the form
// helpers that pages opt into with data attributes (lib/forms.js).
import htmx from '../vendor/htmx/htmx.esm.js';
import { wireAll } from './lib/forms.js';
import { announceCounters, focusableScrollers } from './lib/announce.js';

window.htmx = htmx;
wireAll();
focusableScrollers();
announceCounters();
document.documentElement.dataset.js = 'ready';
