// Chart pages (analytics, memberships overview, money): every chart drawn by the one helper
// (lib/chart.js) from the page's json_script data; each has a table with the same figures.
import { $, jsonData } from './lib/dom.js';
import { COLOURS, drawChart, drawDataCharts } from './lib/chart.js';
import { gettext, interpolate } from './lib/i18n.js';

// Analytics: <canvas data-chart="key"> from #analytics-chart-data.
if ($('analytics-chart-data')) drawDataCharts('analytics-chart-data');

// Memberships: members (bars) and MRR (line) by month.
const members = jsonData('mem-chart-data');
if ($('mem-chart')) {
  drawChart($('mem-chart'), members && {
    data: {
      labels: members.labels,
      datasets: [
        { type: 'bar', label: gettext('Members'), data: members.members, backgroundColor: COLOURS.soft, yAxisID: 'members', order: 2 },
        { type: 'line', label: members.currency ? interpolate(gettext('MRR (%s)'), [members.currency]) : gettext('MRR'), data: members.mrr.map(Number),
          borderColor: COLOURS.main, backgroundColor: COLOURS.main, tension: 0, yAxisID: 'mrr', order: 1 },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      plugins: { legend: { position: 'bottom' } },
      scales: {
        members: { position: 'left', beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: gettext('Members') } },
        mrr: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: gettext('MRR') } },
      },
    },
  });
}

// Money: net revenue per day.
const money = jsonData('money-chart-data');
if ($('money-chart')) {
  drawChart($('money-chart'), money && {
    type: 'bar',
    data: { labels: money.labels, datasets: [{ label: interpolate(gettext('Net revenue (%s)'), [money.currency]), data: money.net.map(Number),
                                                backgroundColor: COLOURS.main }] },
    options: { plugins: { legend: { position: 'bottom' } }, scales: { y: { beginAtZero: true } } },
  });
}

// Creator home: sales per day, the last 7 days against the 7 before.
const sales = jsonData('home-sales-data');
if ($('home-sales-chart')) {
  drawChart($('home-sales-chart'), sales && {
    type: 'bar',
    data: {
      labels: sales.labels,
      datasets: [
        { label: interpolate(gettext('Last 7 days (%s)'), [sales.currency]), data: sales.this_week.map(Number), backgroundColor: COLOURS.main },
        { label: gettext('The 7 days before'), data: sales.last_week.map(Number), backgroundColor: COLOURS.soft },
      ],
    },
    options: { plugins: { legend: { position: 'bottom' } }, scales: { y: { beginAtZero: true } } },
  });
}
