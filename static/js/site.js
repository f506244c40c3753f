// Loaded by every page (base.html): htmx from npm (as an ES module: a page module that needs its API
// imports the same file) and the form helpers that pages opt into with data attributes (lib/forms.js).
import '../vendor/htmx/htmx.esm.js';
import { wireAll } from './lib/forms.js';
import { announceCounters, focusableScrollers } from './lib/announce.js';

wireAll();
focusableScrollers();
announceCounters();
document.documentElement.dataset.js = 'ready';
