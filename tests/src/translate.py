"""Expand a SAM template into CloudFormation with the real aws-sam-translator, offline.

usage: python3 translate.py TEMPLATE   (the CloudFormation JSON on stdout)
What cfn-lint does before linting: local CodeUri/ContentUri become s3://rollcall-test/<path>
(so a Version's hashed logical id depends on the properties, not on the built code), and the
managed-policy loader is a stub (SAM writes the ARNs of the policies it adds itself).
"""
import json
import os
import sys

from cfnlint.decode.cfn_yaml import loads
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    def load(self):
        sys.exit("the template names a managed policy by name: no IAM to look it up offline")


template = loads(open(sys.argv[1]).read())
for resource in template.get("Resources", {}).values():
    properties = resource.get("Properties", {})
    for key in ("CodeUri", "ContentUri"):
        if isinstance(properties.get(key), str):
            properties[key] = "s3://rollcall-test/" + properties[key]
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
json.dump(transform(template, {}, NoManagedPolicies()), sys.stdout, indent=1)
