"""kombu's Redis transport, made to survive losing Redis.

When the connection drops, Celery 5.7 collects it (dropping its client) before closing
its channels. Two things then reach for a Redis client on the dead channel and crash the
worker with AttributeError ("Unrecoverable error"): closing the channel restores the
messages delivered but not acknowledged, and a batch that finishes after the reconnect
acknowledges its message on the channel it came from. An executions worker always holds
such messages: batches wait unacknowledged for their second (acks late).

On a dead channel both are skipped. Nothing is lost by it: the messages stay in Redis's
unacked hash, from which any consumer restores them after the visibility timeout (a
second copy of a batch finds its executions claimed and does nothing); and if Redis came
back empty, the database still has every execution, and the recovery sweep sends the
pending ones again.
"""

from kombu.transport import redis


class QoS(redis.QoS):
    def channel_is_dead(self) -> bool:
        transport = self.channel.connection
        return transport is None or transport.client is None

    def restore_unacked(self, client: object = None) -> None:
        if self.channel_is_dead():
            self._delivered.clear()
            return
        super().restore_unacked(client)

    def ack(self, delivery_tag: str) -> None:
        if not self.channel_is_dead():
            super().ack(delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if not self.channel_is_dead():
            super().reject(delivery_tag, requeue=requeue)


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
