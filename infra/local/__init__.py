"""The local stack: what template.yaml declares, running on one machine with no AWS account.

One module per AWS service it emulates, so "how does a schedule fire locally?" is answered by a
file name:

- `http_api.py`: API Gateway HTTP API (payload 2.0 events, routing, responses) and the local-only
  routes under /_local/
- `lambda_runtime.py`: Lambda (execution environments in worker processes, context, invocation)
- `scheduler.py`: EventBridge Scheduler / rules (`ScheduleV2` and `Schedule` events)
- `clock.py`: a local-only clock offset shared by every function and the schedules
- `dynamodb.py`: DynamoDB (embedded moto, requests serialized)
- `queues.py`: SQS (the template's queues and redrive policies in moto, event source mappings polling
  them into functions with partial batch failures)
- `mail.py`: SES v2 and SNS SMS (moto, a verified sender identity) and `GET /_local/outbox`
- `stack.py`: reads template.yaml, wires the pieces, seeds, prints the banner (`python -m infra.local`)

A new service (DynamoDB streams, say) gets its own module here, invokes
functions through `LambdaRuntime.invoke`, reads time from the `LocalClock`, and is wired, together
with any local-only routes it offers (such as `GET /_local/outbox`), in `stack.py`.
"""

LOCAL_ACCOUNT_ID = "123456789012"  # the account in every local ARN and event
DEFAULT_REGION = "eu-central-1"
