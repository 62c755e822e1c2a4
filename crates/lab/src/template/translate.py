# The lab's SAM translator shim (embedded in crates/lab/src/template/translate.rs, run as
# `python3 -c <this>`). Reads {"template", "parameters", "region", "account_id"} as JSON on stdin,
# writes one JSON object on stdout:
#   {"translator": VERSION, "template": {...}, "warnings": [...]}        the CloudFormation
#   {"translator": VERSION, "errors": [{"logical_id": ID|null, "message": ...}]}   SAM refused it
#   {"missing": "samtranslator", "python": EXE, "detail": ...}           not importable
# Anything else (a traceback on stderr, a non-zero exit) is a crash of the translator.
import json
import logging
import os
import sys

request = json.load(sys.stdin)

# The translator's boto3 session only supplies the region (for AWS::Region and the partition):
# no profile, no config file, no credentials, no network.
for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
    os.environ.pop(name, None)
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_DEFAULT_REGION"] = request["region"]
os.environ["AWS_REGION"] = request["region"]


def emit(value):
    json.dump(value, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    sys.stdout.flush()


try:
    import samtranslator
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform
except ImportError as error:
    emit({"missing": "samtranslator", "python": sys.executable, "detail": str(error)})
    sys.exit(0)


class Warnings(logging.Handler):
    """Keeps the translator's warnings for the caller, minus the one it logs on every run."""

    HARMLESS = "not available in Feature Toggle Config"

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        message = record.getMessage()
        if self.HARMLESS not in message:
            self.messages.append(message)


warnings = Warnings()
translator_log = logging.getLogger("samtranslator")
translator_log.addHandler(warnings)
translator_log.propagate = False


class ManagedPolicyByName(Exception):
    pass


class NoManagedPolicyLookup:
    """SAM knows the AWS managed policies from its bundled list; any other name needs IAM."""

    def load(self):
        raise ManagedPolicyByName(
            "a policy in Policies is neither an ARN nor an AWS managed policy the translator knows, "
            "and looking it up needs IAM (not available offline): write the policy's ARN"
        )


def cause(error):
    logical_id = getattr(error, "_logical_id", None) or getattr(error, "_event_id", None)
    message = getattr(error, "_message", None) if logical_id else None
    if isinstance(logical_id, list):
        logical_id = ", ".join(logical_id)
    return {"logical_id": logical_id, "message": message or error.message}


parameters = dict(request["parameters"])
parameters.setdefault("AWS::AccountId", request["account_id"])
try:
    template = transform(request["template"], parameters, NoManagedPolicyLookup(), passthrough_metadata=True)
except InvalidDocumentException as error:
    emit({"translator": samtranslator.__version__, "errors": [cause(c) for c in error.causes]})
except ManagedPolicyByName as error:
    emit({"translator": samtranslator.__version__, "errors": [{"logical_id": None, "message": str(error)}]})
else:
    emit({"translator": samtranslator.__version__, "template": template, "warnings": warnings.messages})
