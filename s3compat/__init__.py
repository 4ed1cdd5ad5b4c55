"""The S3 REST dialect over the proxy core."""
