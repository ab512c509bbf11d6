"""The configuration module: defaults, parsing, and errors that name the variable."""

import pytest

from oms.config import VARIABLES, ConfigError, load_settings


def test_defaults_point_at_the_local_stack():
    settings = load_settings({})

    assert settings.aws_endpoint_url == "http://127.0.0.1:4566"
    assert settings.broker_url == "sqs://test:test@127.0.0.1:4566"
    assert settings.aws_is_secure is False
    assert settings.mongo_uri == "mongodb://127.0.0.1:27018"
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.ims_url == "http://127.0.0.1:8081"
    assert settings.chunk_rows == 5000
    assert settings.api_keys == ()


def test_values_are_parsed_and_typed():
    settings = load_settings(
        {
            "OMS_CHUNK_ROWS": " 250 ",
            "OMS_AWS_ENDPOINT_URL": "https://s3.example.test:4443/",
            "AWS_SECRET_ACCESS_KEY": "a/b+c",
            "OMS_API_KEYS": "k1, k2,,",
            "OMS_KAFKA_BOOTSTRAP": "kafka:9092,kafka2:9092",
        }
    )

    assert settings.chunk_rows == 250
    assert settings.aws_is_secure is True
    assert settings.broker_url == "sqs://test:a%2Fb%2Bc@s3.example.test:4443"
    assert settings.api_keys == ("k1", "k2")
    assert settings.topic("order.created") == "order.created"


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("OMS_CHUNK_ROWS", "many", "not a whole number"),
        ("OMS_CHUNK_ROWS", "0", "at least 1"),
        ("OMS_MONGO_URI", "postgres://x", "mongodb"),
        ("OMS_AWS_ENDPOINT_URL", "127.0.0.1:4566", "http"),
        ("OMS_KAFKA_BOOTSTRAP", "kafka", "host:port"),
        ("OMS_REDIS_URL", "", "must not be empty"),
        ("OMS_S3_BUCKET", "Bad_Bucket", "bucket"),
        ("OMS_IMS_TIMEOUT", "soon", "not a number"),
        ("OMS_LOG_LEVEL", "LOUD", "DEBUG"),
        ("OMS_CRASH_AT", "chunk.somewhere", "chunk.after_insert"),
        ("OMS_CRASH_AT", "chunk.after_insert@x", "@CHUNK"),
    ],
)
def test_a_bad_value_fails_naming_the_variable(variable, value, words):
    with pytest.raises(ConfigError) as raised:
        load_settings({variable: value})

    assert variable in str(raised.value)
    assert words in str(raised.value)


def test_time_limit_must_stay_below_the_visibility_timeout():
    with pytest.raises(ConfigError, match="OMS_TASK_TIME_LIMIT"):
        load_settings({"OMS_TASK_TIME_LIMIT": "1800", "OMS_SQS_VISIBILITY_TIMEOUT": "1800"})


def test_every_variable_name_is_unique():
    names = [variable for variable, _, _ in VARIABLES.values()]
    assert len(names) == len(set(names))


def test_every_variable_is_documented_in_the_readme():
    from pathlib import Path

    from oms.config import VARIABLES

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [var for var, _, _ in VARIABLES.values() if f"`{var}`" not in readme]
    assert not missing, f"README's configuration table lacks {missing}"
