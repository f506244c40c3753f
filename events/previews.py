"""Social preview images (Open Graph / Twitter cards): 1200×630 PNG drawn with Pillow."""
import io
import textwrap
from pathlib import Path

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont, ImageOps

from .models import Event

SIZE = (1200, 630)
_FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", str(Path(__file__).parent / "fonts")]


def _font(size: int, bold: bool = False):
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for d in _FONT_DIRS:
        path = Path(d) / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def draw(event: Event) -> bytes:
    img = Image.new("RGB", SIZE, "#17152b")
    if event.cover:
        try:
            with event.cover.open("rb") as f, Image.open(f) as cover:
                cover = ImageOps.fit(cover.convert("RGB"), SIZE)
                img = Image.blend(cover, Image.new("RGB", SIZE, "#17152b"), 0.55)
        except (OSError, ValueError):
            pass
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 18, SIZE[1]], fill="#5b3df5")
    d.text((70, 60), event.creator.name.upper()[:60], font=_font(30, bold=True), fill="#c9bfff")
    y = 120
    for line in textwrap.wrap(event.title, width=24)[:3]:
        d.text((70, y), line, font=_font(76, bold=True), fill="white")
        y += 92
    local = timezone.localtime(event.starts_at, event.tz)
    when = f"{local:%a %d %b %Y · %H:%M} ({event.timezone})"
    d.text((70, SIZE[1] - 150), when, font=_font(36), fill="white")
    where = {"online": "Live stream", "hybrid": f"{event.venue_name} + live stream" if event.venue_name
             else "Room + live stream"}.get(event.mode, event.venue_name or "In person")
    d.text((70, SIZE[1] - 95), where[:60], font=_font(32), fill="#c9bfff")
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def render_and_store(event_id: str) -> None:
    event = Event.objects.select_related("creator").filter(pk=event_id).first()
    if event is None:
        return
    data = draw(event)
    if event.preview_image:
        event.preview_image.delete(save=False)
    event.preview_image.save(f"{event.pk}-{int(timezone.now().timestamp())}.png", ContentFile(data), save=False)
    Event.objects.filter(pk=event.pk).update(preview_image=event.preview_image.name)
