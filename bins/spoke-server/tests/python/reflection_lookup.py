"""A generic gRPC client that knows nothing of Spoke's stubs: it discovers the
API through server reflection, then looks a version up.

usage: reflection_lookup.py HOST:PORT MODULE VERSION [CA_FILE]
With CA_FILE, the channel is TLS and trusts that CA's certificates.
prints one JSON object: {"services": [...], "version": {...GetVersionResponse as JSON}}
"""

import json
import sys

import grpc
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

SERVICE = "spoke.registry.v1.RegistryService"


def main() -> None:
    address, module, version = sys.argv[1:4]
    if len(sys.argv) > 4:
        with open(sys.argv[4], "rb") as ca:
            credentials = grpc.ssl_channel_credentials(root_certificates=ca.read())
        channel = grpc.secure_channel(address, credentials)
    else:
        channel = grpc.insecure_channel(address)
    database = ProtoReflectionDescriptorDatabase(channel)
    services = sorted(database.get_services())
    pool = DescriptorPool(database)
    method = pool.FindServiceByName(SERVICE).FindMethodByName("GetVersion")
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    call = channel.unary_unary(
        f"/{SERVICE}/GetVersion",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    request = request_class(module_name=module, version=version)
    response = call(request, timeout=10)
    print(
        json.dumps(
            {
                "services": services,
                "version": json_format.MessageToDict(
                    response, preserving_proto_field_name=True
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
