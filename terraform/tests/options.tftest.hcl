# The root stack's options, each in a run of its own.

mock_provider "aws" {
  source = "./tests/mocks"

  override_resource {
    target = module.data_bucket.aws_s3_bucket.this
    values = { arn = "arn:aws:s3:::partner-data-123456789012-sa-east-1" }
  }
}

variables {
  region            = "sa-east-1"
  partner_api_url   = "https://partner.example.com/api/InteliFunctionGetData"
  purge_password    = "correct-horse-battery-staple"
  partner_api_token = "partner-token-0123456789"
  dist_dir          = "tests/fixtures/dist"
  # Lets the destroy that ends this file through (defaults.tftest.hcl tests the protection).
  data_bucket_deletion_protection = false
}

run "customer_managed_key" {
  command = apply

  variables {
    kms_key_arn = "arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = [for s in jsondecode(module.refresh_function.role_policy).Statement : s if startswith(s.Sid, "Use")] == [{
      Sid      = "UseTheProjectKey"
      Effect   = "Allow"
      Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource = [var.kms_key_arn]
    }]
    error_message = "The refresh role encrypts objects and queue messages with the key, and only that key."
  }
  assert {
    condition = [for s in jsondecode(module.purge_function.role_policy).Statement : s if startswith(s.Sid, "UseTheKey")] == [{
      Sid      = "UseTheKeyForParametersAndJobs"
      Effect   = "Allow"
      Action   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
      Resource = [var.kms_key_arn]
    }]
    error_message = "The purge role reads its password and the job table with the key, and only that key."
  }
  assert {
    condition = [for s in jsondecode(module.purge_worker.role_policy).Statement : s if startswith(s.Sid, "UseTheKey")] == [{
      Sid      = "UseTheKeyForJobs"
      Effect   = "Allow"
      Action   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
      Resource = [var.kms_key_arn]
    }]
    error_message = "The worker role reads and writes the job table with the key, and only that key."
  }
  assert {
    condition     = aws_sqs_queue.refresh_failures.kms_master_key_id == var.kms_key_arn
    error_message = "The failure queue is encrypted with the key."
  }
}

run "api_key_and_source_ip_allowlist" {
  command = apply

  variables {
    purge_require_api_key      = true
    purge_allowed_source_cidrs = ["203.0.113.0/24"]
    purge_path                 = "erase"
  }

  assert {
    condition     = output.purge_api_key_id != null
    error_message = "Requiring an API key must create one for the partner."
  }

  assert {
    condition = (
      keys(jsondecode(output.purge_api_document).paths) == ["/erase", "/erase/status"] &&
      jsondecode(output.purge_api_document).security == [{ api_key = [] }]
    )
    error_message = "The purge API's document must name the stack's path and require its API key."
  }
}

run "extra_purgeable_buckets" {
  command = apply

  variables {
    extra_purgeable_buckets = ["partner-data-archive", "partner-data-123456789012-sa-east-1"]
  }

  assert {
    condition     = local.purge_environment.ALLOWED_BUCKETS == "partner-data-123456789012-sa-east-1,partner-data-archive"
    error_message = "The function may purge the data bucket and each extra bucket, once each."
  }
  assert {
    condition = [for s in jsondecode(module.purge_function.role_policy).Statement : s.Resource if s.Sid == "DeleteEveryVersion"] == [[
      "arn:aws:s3:::partner-data-123456789012-sa-east-1/*",
      "arn:aws:s3:::partner-data-archive/*",
    ]]
    error_message = "The role may delete in exactly those buckets."
  }
}

run "expiration_schedule_off_and_reserved_concurrency" {
  command = apply

  variables {
    data_expiration_days         = 90
    refresh_schedule_enabled     = false
    refresh_reserved_concurrency = 1
    purge_reserved_concurrency   = 2
  }

  assert {
    condition     = output.refresh_schedule_name == "partner-data-daily-refresh"
    error_message = "A disabled schedule still exists (the modules' suites check its state)."
  }
}

run "managed_api_gateway_logging_role" {
  command = apply

  variables {
    manage_api_gateway_cloudwatch_role = true
  }

  assert {
    condition     = length(module.api_gateway_cloudwatch_role) == 1
    error_message = "Asked for, the stack owns the account's API Gateway logging role in this region."
  }
}

run "partner_token_disabled" {
  # A plan: an ephemeral variable left null cannot be applied in a test (hashicorp/terraform#38974).
  command = plan

  variables {
    partner_api_token_enabled = false
    partner_api_token         = null
  }

  assert {
    condition     = length(module.partner_api_token) == 0 && local.refresh_environment.PARTNER_API_TOKEN_PARAMETER == ""
    error_message = "Without a token there is no parameter, and the function is told so."
  }
  assert {
    condition     = length([for s in local.refresh_statements : s if s.sid == "ReadPartnerApiToken"]) == 0
    error_message = "Without a token the role may read no parameter."
  }
}

run "token_in_the_query_and_more_ephemeral_storage" {
  command = apply

  variables {
    partner_api_token_in         = "query"
    refresh_ephemeral_storage_mb = 2048
  }

  assert {
    condition     = local.refresh_environment.PARTNER_API_TOKEN_IN == "query"
    error_message = "The function must be told to send the token as code."
  }
}

run "refuses_a_token_place_that_is_not_header_or_query" {
  command = plan

  variables {
    partner_api_token_in = "cookie"
  }

  expect_failures = [var.partner_api_token_in]
}

run "refuses_a_wildcard_bucket" {
  command = plan

  variables {
    extra_purgeable_buckets = ["*"]
  }

  expect_failures = [var.extra_purgeable_buckets]
}

run "refuses_a_bucket_pattern" {
  command = plan

  variables {
    extra_purgeable_buckets = ["partner-*"]
  }

  expect_failures = [var.extra_purgeable_buckets]
}

run "refuses_a_missing_token_while_enabled" {
  command = plan

  variables {
    partner_api_token = null
  }

  expect_failures = [var.partner_api_token]
}

run "refuses_a_password_longer_than_the_endpoint_accepts" {
  command = plan

  variables {
    purge_password = "${join("", [for i in range(1024) : "é"])}é"
  }

  expect_failures = [var.purge_password]
}

run "counts_characters_as_the_endpoint_does" {
  # 513 thumbs-up with a skin tone: 513 characters to length() (grapheme clusters), 1026 to the
  # endpoint (code points), which refuses it.
  command = plan

  variables {
    purge_password = join("", [for i in range(513) : "\U0001F44D\U0001F3FD"])
  }

  expect_failures = [var.purge_password]
}

run "accepts_the_longest_password_the_endpoint_accepts" {
  command = plan

  variables {
    purge_password = join("", [for i in range(1024) : "é"])
  }
}

run "refuses_a_short_password" {
  command = plan

  variables {
    purge_password = "short"
  }

  expect_failures = [var.purge_password]
}

run "refuses_a_zero_reservation" {
  command = plan

  variables {
    refresh_reserved_concurrency = 0
  }

  expect_failures = [var.refresh_reserved_concurrency]
}

run "refuses_plain_http_to_a_remote_host" {
  command = plan

  variables {
    partner_api_url = "http://partner.example.com/api/InteliFunctionGetData"
  }

  expect_failures = [var.partner_api_url]
}

run "refuses_a_query_string_in_the_url" {
  command = plan

  variables {
    partner_api_url = "https://partner.example.com/api/InteliFunctionGetData?code=secret"
  }

  expect_failures = [var.partner_api_url]
}

run "purge_job_concurrency_timeout_and_retention" {
  command = apply

  variables {
    purge_job_max_concurrency = 2
    purge_job_timeout_hours   = 6
    purge_job_retention_days  = 7
  }

  assert {
    condition = (
      jsondecode(module.purge_job.definition).States.Lanes.MaxConcurrency == 2 &&
      jsondecode(module.purge_job.definition).TimeoutSeconds == 21600 &&
      local.purge_environment.JOB_RETENTION_DAYS == "7" &&
      local.purge_worker_environment.JOB_RETENTION_DAYS == "7"
    )
    error_message = "The job's lanes at once, its timeout and how long its status stays follow the variables."
  }
}

run "refuses_a_job_status_kept_less_than_a_week" {
  command = plan

  variables {
    purge_job_retention_days = 6
  }

  expect_failures = [var.purge_job_retention_days]
}

run "refuses_more_lanes_at_once_than_an_inline_map_runs" {
  command = plan

  variables {
    purge_job_max_concurrency = 41
  }

  expect_failures = [var.purge_job_max_concurrency]
}

run "refuses_a_key_alias_arn" {
  # IAM grants on an alias ARN apply to the alias, not to the key: the functions would be denied.
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:sa-east-1:123456789012:alias/partner-data"
  }

  expect_failures = [var.kms_key_arn]
}

run "accepts_a_multi_region_key_arn" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:sa-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
  }
}

run "refuses_purgeable_buckets_the_function_refuses" {
  command = plan

  variables {
    extra_purgeable_buckets = ["partner-data-archive", "archive--x-s3"]
  }

  expect_failures = [var.extra_purgeable_buckets]
}

run "refuses_an_access_log_bucket_name_s3_refuses" {
  command = plan

  variables {
    data_access_log_bucket = "Logs_Bucket"
  }

  expect_failures = [var.data_access_log_bucket]
}
