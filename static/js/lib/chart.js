// The one chart helper: loads Chart.js (from npm, its UMD build) once, draws with the site's colours
// and honours reduced motion. Every chart sits next to a table with the same figures, so when the
// library cannot load the chart's box is hidden and nothing is lost.
import { jsonData, libraryUrl, loadScript } from './dom.js';
import { LANG } from './i18n.js';

export const COLOURS = { main: '#5b3df5', soft: '#c9bfff' };

let chartLib = null;
export function loadChart() {
  if (!chartLib) {
    chartLib = window.Chart ? Promise.resolve(window.Chart)
      : loadScript(libraryUrl('chart', 'vendor/chart/chart.umd.min.js')).then(() => window.Chart);
  }
  return chartLib;
}

function hideBox(canvas) {
  const box = canvas.closest('.an-chart, .mem-chart') || canvas;
  box.hidden = true;
}

/** Draw `config` on `canvas`; the box is hidden when there is nothing to draw or no library. */
export async function drawChart(canvas, config) {
  if (!canvas) return null;
  let Chart;
  try { Chart = await loadChart(); } catch { Chart = null; }
  if (!Chart || !config) { hideBox(canvas); return null; }
  const still = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
  // Numbers on axes and tooltips in the page's language (Chart.js formats them with Intl.NumberFormat).
  const options = { maintainAspectRatio: false, locale: LANG, ...(config.options || {}) };
  if (still) options.animation = false;
  return new Chart(canvas, { ...config, options });
}

/**
 * Every <canvas data-chart="key" data-kind="bar|line" data-label data-axis> draws chart[key] of the
 * json_script block `sourceId` ({labels, values}).
 */
export function drawDataCharts(sourceId) {
  const data = jsonData(sourceId);
  const canvases = document.querySelectorAll('canvas[data-chart]');
  if (canvases.length) loadChart().catch(() => null); // the library is there even when no chart has data
  canvases.forEach((canvas) => {
    const d = data?.[canvas.dataset.chart];
    if (!d || !d.values || !d.values.length) { hideBox(canvas); return; }
    const kind = canvas.dataset.kind || 'bar';
    drawChart(canvas, {
      type: kind,
      data: {
        labels: d.labels,
        datasets: [{ label: canvas.dataset.label || '', data: d.values, borderColor: COLOURS.main,
                     backgroundColor: kind === 'line' ? COLOURS.main : COLOURS.soft, tension: 0, pointRadius: 2 }],
      },
      options: { indexAxis: canvas.dataset.axis || 'x', plugins: { legend: { display: false } },
                 scales: { y: { beginAtZero: true }, x: { beginAtZero: true } } },
    });
  });
}
