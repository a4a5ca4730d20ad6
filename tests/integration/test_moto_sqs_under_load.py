"""The local stack's moto SQS keeps every message when sends and deletes race
(infra/moto_speedups.py; moto's own Queue.delete_message dropped messages
appended while it rebuilt its list), and answers the same attributes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from infra import moto_speedups
from infra.stack_harness import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sqs() -> Iterator[Any]:
    moto_speedups.apply()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield boto3.client(
            "sqs",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="sa-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    finally:
        server.stop()


def test_no_message_is_lost_when_sends_and_deletes_race(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="race.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    senders, per_sender = 4, 150
    received: set[str] = set()
    lock = threading.Lock()
    done_sending = threading.Event()

    def send(n: int) -> None:
        for i in range(per_sender):
            sqs.send_message(
                QueueUrl=url,
                MessageBody=f"{n}-{i}",
                MessageGroupId=f"g{n}-{i % 7}",
                MessageDeduplicationId=f"{n}-{i}",
            )

    def consume() -> None:
        idle = 0
        while idle < 3:
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                idle += done_sending.is_set()
                continue
            idle = 0
            with lock:
                received.update(m["Body"] for m in batch)
            for m in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    producers = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
    consumers = [threading.Thread(target=consume) for _ in range(4)]
    for thread in producers + consumers:
        thread.start()
    for thread in producers:
        thread.join()
    done_sending.set()
    for thread in consumers:
        thread.join()
    assert len(received) == senders * per_sender


def test_attributes_and_deduplication_are_moto_s(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName="attrs.fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "7"},
    )["QueueUrl"]
    for _ in range(2):  # the same deduplication id twice: one message
        sqs.send_message(
            QueueUrl=url,
            MessageBody="x",
            MessageGroupId="g",
            MessageDeduplicationId="d",
        )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["ApproximateNumberOfMessages"] == "1"
    assert attributes["VisibilityTimeout"] == "7"
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "false"
