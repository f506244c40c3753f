// Group-buy pages (/g/<id>/ and the dashboard's): progress bars polled every few seconds and the
// countdown (lib/groupbuy.js; the watch page gets the same bars live over its socket instead).
import { start } from './lib/groupbuy.js';

start({ pollEvery: 5000 });
