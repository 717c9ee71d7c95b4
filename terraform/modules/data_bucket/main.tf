resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_144:The data must stay purgeable on demand; a replica in another region would be out of the purge's reach.
  # checkov:skip=CKV2_AWS_62:Nothing consumes object events: downstream loads the daily files on its own schedule.
  bucket = var.bucket_name
  # With protection off, `terraform destroy` deletes every object version, so it always finishes.
  force_destroy = !var.deletion_protection
  tags          = var.tags
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log_bucket == null ? 0 : 1

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = "${var.bucket_name}/"
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  # A bucket policy is refused while the public access block is being changed.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  # checkov:skip=CKV_AWS_300:The first rule aborts every incomplete upload after a day, whatever its key; the optional second rule only expires.
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "tidy-versions-and-uploads"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  dynamic "rule" {
    for_each = var.expiration_days == null ? [] : [var.expiration_days]
    content {
      id     = "retention-safety-net"
      status = "Enabled"

      filter {}

      expiration {
        days = rule.value
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# Terraform destroys a bucket's settings before the bucket. With objects left, the bucket then
# cannot be deleted (BucketNotEmpty), and it would stay behind stripped of its public access block,
# TLS-only policy and encryption. This guard depends on every setting, so a destroy (or a
# replacement of the bucket) reaches it first, and it refuses while protection is on: the bucket and
# all its settings stay exactly as they were. Turning protection off is an in-place update of
# `input`, which the destroy-time command reads from state; that is why an apply must come first.
resource "terraform_data" "deletion_guard" {
  input = {
    protected = var.deletion_protection
    bucket    = aws_s3_bucket.this.id
    setting   = var.deletion_protection_setting
  }
  triggers_replace = [aws_s3_bucket.this.id]

  provisioner "local-exec" {
    when = destroy
    # Plain words only: the same command runs under sh and cmd.exe.
    command = self.input.protected ? "echo The data bucket ${self.input.bucket} is protected by ${self.input.setting}: nothing of it was touched. To delete it with every object version, set ${self.input.setting} to false, apply, then destroy. 1>&2 && exit 1" : "exit 0"
  }

  depends_on = [
    aws_s3_bucket_logging.this,
    aws_s3_bucket_public_access_block.this,
    aws_s3_bucket_ownership_controls.this,
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_versioning.this,
    aws_s3_bucket_policy.this,
    aws_s3_bucket_lifecycle_configuration.this,
  ]
}
