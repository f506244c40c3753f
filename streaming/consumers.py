"""Websocket consumers: an event's live channel (stock, group-buy, chat, presence)."""
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from microstage.realtime import event_group


class EventConsumer(AsyncJsonWebsocketConsumer):
    """Joins the event's group and relays whatever the platform publishes to it."""

    async def connect(self):
        self.group = event_group(self.scope["url_route"]["kwargs"]["event_id"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        await self.send_json({"type": "error", "code": "unsupported", "detail": "This channel is read-only for now."})

    async def broadcast(self, message):
        await self.send_json(message["payload"])
