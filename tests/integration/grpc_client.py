"""Calls the controller with python3-grpcio (Debian): GetStudy and health.

Stubs are generated at run time with the system protoc and Debian's
grpc_python_plugin (PLATFORM.md: grpc_tools bundles an old protoc)."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "proto")

out = tempfile.mkdtemp(prefix="kreplay-pystubs-")
protos = ["kreplay/v1/%s.proto" % n for n in ("workload", "result", "study", "controller")]
plugin = "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"
subprocess.run(["protoc", "-I", PROTO_ROOT, "--python_out", out, "--grpc_python_out", out, plugin] + protos, check=True)
os.makedirs(os.path.join(out, "healthstub"), exist_ok=True)
subprocess.run(["protoc", "-I", HERE, "--python_out", os.path.join(out, "healthstub"),
                "--grpc_python_out", os.path.join(out, "healthstub"), plugin, "health.proto"], check=True)
sys.path.insert(0, os.path.join(out, "healthstub"))
sys.path.insert(0, out)

import grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402
from kreplay.v1 import controller_pb2, controller_pb2_grpc, study_pb2  # noqa: E402

address, study_id = sys.argv[1], sys.argv[2]
ch = grpc.insecure_channel(address)
stub = controller_pb2_grpc.ControllerStub(ch)
resp = stub.GetStudy(controller_pb2.GetStudyRequest(study_id=study_id), timeout=30)
p = resp.progress
print("state=%s done=%d/%d" % (study_pb2.StudyState.Name(p.state), p.runs_done, p.runs_total))
h = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
print("health=%s" % health_pb2.HealthCheckResponse.ServingStatus.Name(h.status))
