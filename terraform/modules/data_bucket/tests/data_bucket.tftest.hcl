mock_provider "aws" {
  source = "../../tests/mocks"

  override_resource {
    target = aws_s3_bucket.this
    values = { arn = "arn:aws:s3:::partner-data-123456789012-sa-east-1" }
  }
}

variables {
  bucket_name = "partner-data-123456789012-sa-east-1"
}

run "private_encrypted_versioned_and_tls_only" {
  command = apply

  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_acls &&
      aws_s3_bucket_public_access_block.this.block_public_policy &&
      aws_s3_bucket_public_access_block.this.ignore_public_acls &&
      aws_s3_bucket_public_access_block.this.restrict_public_buckets &&
      one(aws_s3_bucket_ownership_controls.this.rule).object_ownership == "BucketOwnerEnforced"
    )
    error_message = "Public access must be blocked in all four ways, and ACLs disabled."
  }
  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    )
    error_message = "Objects must be encrypted with SSE-KMS, with a bucket key."
  }
  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be on."
  }
  assert {
    condition = jsondecode(aws_s3_bucket_policy.this.policy).Statement == [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = ["arn:aws:s3:::partner-data-123456789012-sa-east-1", "arn:aws:s3:::partner-data-123456789012-sa-east-1/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
    error_message = "Every request over plain HTTP must be denied."
  }
  assert {
    condition = (
      length(aws_s3_bucket_lifecycle_configuration.this.rule) == 1 &&
      aws_s3_bucket_lifecycle_configuration.this.rule[0].noncurrent_version_expiration[0].noncurrent_days == 30 &&
      aws_s3_bucket_lifecycle_configuration.this.rule[0].abort_incomplete_multipart_upload[0].days_after_initiation == 1 &&
      aws_s3_bucket_lifecycle_configuration.this.rule[0].expiration[0].expired_object_delete_marker
    )
    error_message = "Old versions expire after 30 days and stale uploads after one; current data is kept."
  }
  assert {
    condition     = !aws_s3_bucket.this.force_destroy && terraform_data.deletion_guard.input.protected
    error_message = "By default a destroy must be refused, not empty the bucket."
  }
  assert {
    condition     = length(aws_s3_bucket_logging.this) == 0
    error_message = "No access logging unless a target bucket is given."
  }
}

run "retention_key_and_access_logs" {
  command = apply

  variables {
    expiration_days   = 400
    kms_key_arn       = "arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    access_log_bucket = "partner-data-access-logs"
  }

  assert {
    condition = (
      length(aws_s3_bucket_lifecycle_configuration.this.rule) == 2 &&
      aws_s3_bucket_lifecycle_configuration.this.rule[1].id == "retention-safety-net" &&
      aws_s3_bucket_lifecycle_configuration.this.rule[1].expiration[0].days == 400
    )
    error_message = "expiration_days must add a rule expiring current data after that many days."
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
    error_message = "The customer managed key must be the default encryption key."
  }
  assert {
    condition     = aws_s3_bucket_logging.this[0].target_bucket == "partner-data-access-logs" && aws_s3_bucket_logging.this[0].target_prefix == "partner-data-123456789012-sa-east-1/"
    error_message = "Access logs must go to the bucket given, under this bucket's name."
  }
}

# The guard refuses a destroy while protection is on (tests/test_terraform_apply.py shows it against
# a real apply). Turning protection off is an apply, after which the destroy that ends this file runs.
run "protection_off_lets_destroy_delete_everything" {
  command = apply

  variables {
    deletion_protection = false
  }

  assert {
    condition     = aws_s3_bucket.this.force_destroy && !terraform_data.deletion_guard.input.protected
    error_message = "Without protection the guard must let a destroy through, and the bucket be emptied by it."
  }
}

run "refuses_an_invalid_bucket_name" {
  command = plan

  variables {
    bucket_name = "Partner_Data"
  }

  expect_failures = [var.bucket_name]
}

run "refuses_an_expiration_below_a_day" {
  command = plan

  variables {
    expiration_days = 0
  }

  expect_failures = [var.expiration_days]
}

run "refuses_itself_as_its_access_log_target" {
  command = plan

  variables {
    access_log_bucket = var.bucket_name
  }

  expect_failures = [var.access_log_bucket]
}

run "refuses_a_protection_setting_that_is_not_a_plain_name" {
  command = plan

  variables {
    deletion_protection_setting = "x; rm -rf ~"
  }

  expect_failures = [var.deletion_protection_setting]
}
