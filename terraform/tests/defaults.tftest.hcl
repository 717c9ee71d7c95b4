# The root stack with its defaults: what each role may do, the functions' configuration contract,
# the failure queue. The modules' own suites check each resource in detail.

mock_provider "aws" {
  source = "./tests/mocks"

  override_resource {
    target = module.refresh_function.aws_lambda_function.this
    values = {
      arn        = "arn:aws:lambda:sa-east-1:123456789012:function:partner-data-refresh"
      invoke_arn = "arn:aws:apigateway:sa-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:sa-east-1:123456789012:function:partner-data-refresh/invocations"
    }
  }
  override_resource {
    target = module.purge_function.aws_lambda_function.this
    values = {
      arn        = "arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge"
      invoke_arn = "arn:aws:apigateway:sa-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge/invocations"
    }
  }
  override_resource {
    target = module.purge_worker.aws_lambda_function.this
    values = {
      arn        = "arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge-worker"
      invoke_arn = "arn:aws:apigateway:sa-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge-worker/invocations"
    }
  }
  override_resource {
    target = module.purge_job.aws_sfn_state_machine.this
    values = { arn = "arn:aws:states:sa-east-1:123456789012:stateMachine:partner-data-purge-job" }
  }
  override_resource {
    target = module.purge_job.aws_dynamodb_table.jobs
    values = { arn = "arn:aws:dynamodb:sa-east-1:123456789012:table/partner-data-purge-jobs" }
  }
  override_resource {
    target = module.data_bucket.aws_s3_bucket.this
    values = { arn = "arn:aws:s3:::partner-data-123456789012-sa-east-1" }
  }
  override_resource {
    target = module.purge_password.aws_ssm_parameter.this
    values = { arn = "arn:aws:ssm:sa-east-1:123456789012:parameter/partner-data/purge-password" }
  }
  override_resource {
    target = module.partner_api_token[0].aws_ssm_parameter.this
    values = { arn = "arn:aws:ssm:sa-east-1:123456789012:parameter/partner-data/partner-api-token" }
  }
  override_resource {
    target = aws_sqs_queue.refresh_failures
    values = { arn = "arn:aws:sqs:sa-east-1:123456789012:partner-data-refresh-failures" }
  }
}

variables {
  region            = "sa-east-1"
  partner_api_url   = "https://partner.example.com/api/InteliFunctionGetData"
  purge_password    = "correct-horse-battery-staple"
  partner_api_token = "partner-token-0123456789"
  dist_dir          = "tests/fixtures/dist"
}

run "defaults" {
  command = apply

  assert {
    condition = (
      output.data_bucket_arn == "arn:aws:s3:::partner-data-123456789012-sa-east-1" &&
      output.refresh_dead_letter_queue_name == "partner-data-refresh-failures" &&
      output.purge_jobs_table_arn == "arn:aws:dynamodb:sa-east-1:123456789012:table/partner-data-purge-jobs" &&
      output.purge_password_parameter_arn == "arn:aws:ssm:sa-east-1:123456789012:parameter/partner-data/purge-password" &&
      output.purge_worker_function_arn == "arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge-worker" &&
      output.purge_rest_api_execution_arn != null && output.refresh_schedule_role_arn != null
    )
    error_message = "The outputs name the bucket's, the table's, the parameter's, the worker's and the API's ARNs, and the queue."
  }

  assert {
    condition = (
      keys(jsondecode(output.purge_api_document).paths) == ["/purge", "/purge/status"] &&
      jsondecode(output.purge_api_document).security == [{}] &&
      jsondecode(output.purge_api_document).servers[0].url == trimsuffix(output.purge_endpoint_url, "/purge") &&
      jsondecode(output.purge_api_document).components == yamldecode(file("../docs/partner-api/openapi.yaml")).components
    )
    error_message = "The purge API's document is docs/partner-api/openapi.yaml with the stack's stage as its server, no API key."
  }
  assert {
    condition = (
      keys(output.role_arns) == ["api_gateway_cloudwatch", "purge", "purge_job", "purge_worker", "refresh", "refresh_schedule"] &&
      output.role_arns.api_gateway_cloudwatch == null &&
      output.role_names == {
        refresh      = "partner-data-refresh-sa-east-1"
        purge        = "partner-data-purge-sa-east-1"
        purge_worker = "partner-data-purge-worker-sa-east-1"
        purge_job    = "partner-data-purge-job-sa-east-1"
      }
    )
    error_message = "The outputs name every role."
  }
  assert {
    condition = (
      output.log_group_names.refresh == "/aws/lambda/partner-data-refresh" &&
      output.log_group_names.purge_job == "/aws/vendedlogs/states/partner-data-purge-job" &&
      length(output.log_group_names) == 6
    )
    error_message = "The outputs name every log group."
  }
  assert {
    condition = toset(output.alarm_names) == toset([
      "partner-data-refresh-errors", "partner-data-purge-errors", "partner-data-purge-worker-errors",
      "partner-data-purge-job-failed", "partner-data-purge-job-timed-out",
      "partner-data-refresh-failure-queue", "partner-data-refresh-destination-failures",
      "partner-data-schedule-dropped", "partner-data-schedule-dead-letter-failures",
      "partner-data-refresh-category-freshness", "partner-data-refresh-establishment-freshness",
      "partner-data-refresh-sale-freshness",
    ])
    error_message = "The outputs name every alarm: no volume alarm without refresh_min_rows."
  }

  assert {
    condition     = output.data_bucket_name == "partner-data-123456789012-sa-east-1"
    error_message = "The bucket is named after the prefix, the account and the region."
  }
  assert {
    # Not jsonencode()d: that would send "\u003caws.scheduler.scheduled-time\u003e", which the
    # scheduler leaves unfilled.
    condition     = strcontains(module.refresh_schedule.target_input, "\"<aws.scheduler.scheduled-time>\"")
    error_message = "The schedule sends its scheduled time, with the placeholder written verbatim."
  }
  assert {
    condition = local.refresh_environment == {
      PARTNER_API_URL             = "https://partner.example.com/api/InteliFunctionGetData"
      PARTNER_API_TOKEN_PARAMETER = "/partner-data/partner-api-token"
      PARTNER_API_TOKEN_IN        = "header"
      DATA_BUCKET                 = "partner-data-123456789012-sa-east-1"
      DATASETS                    = "category,establishment,sale"
      TIMEZONE                    = "America/Sao_Paulo"
      MAX_FIELD_BYTES             = "11184810"
      MAX_BODY_BYTES              = "268435456"
      METRICS_NAMESPACE           = "partner-data"
    }
    error_message = "The refresh function's environment is its configuration contract (refresh_partner_data/config.py)."
  }
  assert {
    condition = local.purge_environment == {
      PASSWORD_PARAMETER    = "/partner-data/purge-password"
      ALLOWED_BUCKETS       = "partner-data-123456789012-sa-east-1"
      JOBS_TABLE            = "partner-data-purge-jobs"
      JOB_STATE_MACHINE_ARN = "arn:aws:states:sa-east-1:123456789012:stateMachine:partner-data-purge-job"
      JOB_RETENTION_DAYS    = "30"
      METRICS_NAMESPACE     = "partner-data"
    }
    error_message = "The purge function may purge the data bucket only, and starts its jobs on the stack's state machine."
  }
  assert {
    condition = local.purge_worker_environment == {
      ALLOWED_BUCKETS    = "partner-data-123456789012-sa-east-1"
      JOBS_TABLE         = "partner-data-purge-jobs"
      JOB_RETENTION_DAYS = "30"
      METRICS_NAMESPACE  = "partner-data"
    }
    error_message = "The worker may purge the data bucket only, and reads its jobs from the stack's table."
  }
  assert {
    condition     = module.purge_worker.function_name == "partner-data-purge-worker" && module.purge_worker.role_name == "partner-data-purge-worker-sa-east-1"
    error_message = "The worker is a function of its own, with a role of its own."
  }
  assert {
    condition = (
      jsondecode(module.purge_job.definition).States.Plan.Parameters.FunctionName == "arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge-worker" &&
      jsondecode(module.purge_job.definition).States.Lanes.MaxConcurrency == 8 &&
      jsondecode(module.purge_job.definition).TimeoutSeconds == 72 * 3600
    )
    error_message = "The state machine invokes the worker, eight lanes at once, for 72 hours at most."
  }
  assert {
    condition = jsondecode(module.refresh_function.role_policy).Statement == [
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["arn:aws:logs:us-east-1:123456789012:log-group:mock-log-group:*"]
      },
      {
        Sid      = "WriteDailyExports"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = [for d in ["category", "establishment", "sale"] : "arn:aws:s3:::partner-data-123456789012-sa-east-1/${d}/*"]
      },
      {
        Sid      = "SkipExportsARetryAlreadyWrote"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = [for d in ["category", "establishment", "sale"] : "arn:aws:s3:::partner-data-123456789012-sa-east-1/${d}/*"]
      },
      {
        Sid      = "ReadPartnerApiToken"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = ["arn:aws:ssm:sa-east-1:123456789012:parameter/partner-data/partner-api-token"]
      },
      {
        Sid      = "SendFailedEvents"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = ["arn:aws:sqs:sa-east-1:123456789012:partner-data-refresh-failures"]
      },
    ]
    error_message = "The refresh role: its logs, one prefix per dataset (written, and read back by a retry), its token, the failure queue. Nothing else."
  }
  assert {
    condition = jsondecode(module.purge_function.role_policy).Statement == [
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["arn:aws:logs:us-east-1:123456789012:log-group:mock-log-group:*"]
      },
      {
        Sid      = "CheckTheBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = ["arn:aws:s3:::partner-data-123456789012-sa-east-1"]
      },
      {
        Sid      = "ListWhatToPurge"
        Effect   = "Allow"
        Action   = ["s3:ListBucketVersions", "s3:ListBucketMultipartUploads"]
        Resource = ["arn:aws:s3:::partner-data-123456789012-sa-east-1"]
      },
      {
        Sid      = "DeleteEveryVersion"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"]
        Resource = ["arn:aws:s3:::partner-data-123456789012-sa-east-1/*"]
      },
      {
        Sid      = "ReadPurgePassword"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = ["arn:aws:ssm:sa-east-1:123456789012:parameter/partner-data/purge-password"]
      },
      {
        Sid      = "ClaimBucketsAndRecordPurges"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        Resource = ["arn:aws:dynamodb:sa-east-1:123456789012:table/partner-data-purge-jobs"]
      },
      {
        Sid      = "StartPurgeJobs"
        Effect   = "Allow"
        Action   = ["states:StartExecution"]
        Resource = ["arn:aws:states:sa-east-1:123456789012:stateMachine:partner-data-purge-job"]
      },
      {
        Sid      = "ReadPurgeJobs"
        Effect   = "Allow"
        Action   = ["states:DescribeExecution"]
        Resource = ["arn:aws:states:sa-east-1:123456789012:execution:partner-data-purge-job:*"]
      },
    ]
    error_message = "The purge role: its logs, list and delete in the data bucket, its password, the job table, starting and reading its jobs. Nothing else: no function invokes itself."
  }
  assert {
    condition = jsondecode(module.purge_worker.role_policy).Statement == [
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["arn:aws:logs:us-east-1:123456789012:log-group:mock-log-group:*"]
      },
      {
        Sid      = "ListWhatToPurge"
        Effect   = "Allow"
        Action   = ["s3:ListBucketVersions", "s3:ListBucketMultipartUploads"]
        Resource = ["arn:aws:s3:::partner-data-123456789012-sa-east-1"]
      },
      {
        Sid      = "DeleteEveryVersion"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"]
        Resource = ["arn:aws:s3:::partner-data-123456789012-sa-east-1/*"]
      },
      {
        Sid      = "RecordJobRuns"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        Resource = ["arn:aws:dynamodb:sa-east-1:123456789012:table/partner-data-purge-jobs"]
      },
    ]
    error_message = "The worker role: its logs, list and delete in the data bucket, the job table. No password, no Step Functions, no Lambda."
  }
  assert {
    condition = [for s in jsondecode(module.purge_job.role_policy).Statement : s if s.Sid == "InvokeTheWorker"] == [{
      Sid      = "InvokeTheWorker"
      Effect   = "Allow"
      Action   = ["lambda:InvokeFunction"]
      Resource = ["arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge-worker", "arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge-worker:*"]
    }]
    error_message = "The state machine may invoke the worker, and no other function."
  }
  assert {
    condition = alltrue(flatten([for policy in [module.refresh_function.role_policy, module.purge_function.role_policy, module.purge_worker.role_policy] : [
      for s in jsondecode(policy).Statement : [
        [for action in s.Action : !strcontains(action, "*")],
        [for resource in s.Resource : resource != "*" && !can(regex("^arn:aws:(s3:::[^/]*|ssm:.*|lambda:.*|kms:.*|dynamodb:.*|states:.*:stateMachine:.*)[*]", resource))],
      ]
    ]]))
    error_message = "No wildcard action anywhere, and no wildcard in an s3 bucket, ssm, lambda, kms, dynamodb or state machine resource (the executions of the purge's state machine aside)."
  }
  assert {
    condition     = aws_sqs_queue.refresh_failures.sqs_managed_sse_enabled && aws_sqs_queue.refresh_failures.message_retention_seconds == 1209600
    error_message = "The failure queue is encrypted and keeps messages for 14 days."
  }
  assert {
    condition     = length(module.api_gateway_cloudwatch_role) == 0
    error_message = "The account-wide API Gateway logging role is not managed unless asked for."
  }
  assert {
    condition     = module.data_bucket.bucket_name == output.data_bucket_name && output.partner_api_token_parameter_name == "/partner-data/partner-api-token"
    error_message = "The outputs must name what was created."
  }
}

# The data bucket refuses a destroy while protected (its default); this is how a user lets the
# destroy that ends this file through.
run "allow_the_teardown" {
  command = apply

  variables {
    data_bucket_deletion_protection = false
  }
}
