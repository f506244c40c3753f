// The replay page of the dashboard: the HLS player (lib/player.js) with its token renewed before it
// expires, and the clip form's "Mark in/out" buttons that copy the player's position.
import { $ } from './lib/dom.js';
import { HlsPlayer } from './lib/player.js';

document.querySelectorAll('video[data-hls-url]').forEach((video) => {
  const player = new HlsPlayer(video, { autoAudio: false, autoplay: false });
  let expires = Date.parse(video.dataset.expiresAt);
  let retry = null;
  const renew = () => {
    fetch(video.dataset.renewUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then((r) => (r.ok ? r.json() : null))
      .then((body) => {
        if (!body) return;
        player.renew(body.hls_url);
        expires = Date.parse(body.expires_at);
        schedule();
      })
      .catch(() => { clearTimeout(retry); retry = setTimeout(renew, 10000); });
  };
  const schedule = () => setTimeout(renew, Math.max(5000, expires - Date.now() - 60000));
  schedule();
  player.start(video.dataset.hlsUrl);
  video.hls = player;
});

document.querySelectorAll('[data-mark]').forEach((button) => {
  button.addEventListener('click', () => {
    const video = $(button.dataset.player || 'player');
    const field = $(button.dataset.mark);
    if (video && field) field.value = video.currentTime.toFixed(2);
  });
});
