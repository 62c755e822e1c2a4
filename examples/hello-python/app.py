"""The Python demo function: answers which version of it served the request.

Runs on a managed runtime with the rollcall layer (AWS_LAMBDA_EXEC_WRAPPER=/opt/rollcall-wrapper);
the extension adds the x-rollcall-version header, the body says the same from the inside.
"""
import json
import os


def handler(event, context):
    version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"function": context.function_name, "version": version}),
    }
