"""What the model of S3 measures of a purge: the deletes it accepted, and when."""

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from stand_ins.s3_model import DeletesAdmitted, RateLimit
from support import MODEL_BUCKET


def test_an_even_stream_of_requests_gives_its_own_rate():
    admitted = DeletesAdmitted()
    for i in range(5):
        admitted.add(10.0 + i * 0.05, 175)
    assert admitted.keys == 875
    assert admitted.per_second() == pytest.approx(3500)


def test_one_request_has_no_rate():
    admitted = DeletesAdmitted()
    assert admitted.per_second() is None
    admitted.add(10.0, 175)
    assert admitted.per_second() is None


def test_only_the_deletes_the_model_accepted_count(model):
    model.delete_rate = RateLimit(10.0)
    for i in range(12):
        model.put(MODEL_BUCKET, f"sale/{i:02d}.csv")
    s3 = boto3.client("s3", config=Config(retries={"total_max_attempts": 1}))

    def delete(keys):
        s3.delete_objects(
            Bucket=MODEL_BUCKET, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
        )

    delete([f"sale/{i:02d}.csv" for i in range(8)])
    with pytest.raises(ClientError, match="SlowDown"):
        delete([f"sale/{i:02d}.csv" for i in range(8, 11)])
    delete(["sale/11.csv"])

    assert model.slowed_down == 1
    assert model.admitted.keys == 9
    assert model.admitted.first_keys == 8
    assert model.admitted.per_second() == pytest.approx(1 / (model.admitted.last - model.admitted.first))
