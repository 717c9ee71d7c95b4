locals {
  # The provider writes a write-only value only when its version changes; a change of key_id alone
  # sends SSM an empty value, which it refuses (adding kms_key_arn to a running stack failed). So
  # the version written is the caller's, moved by the key: a new key writes the value again. With
  # no key it is the caller's version as it was.
  key_part      = var.kms_key_arn == null ? 0 : parseint(substr(sha256(var.kms_key_arn), 0, 8), 16)
  write_version = var.value_version + 1000 * local.key_part
}

resource "aws_ssm_parameter" "this" {
  name        = var.name
  description = var.description
  type        = "SecureString"
  key_id      = var.kms_key_arn
  tier        = "Standard"
  tags        = var.tags

  # Write-only: sent to SSM when write_version changes, never kept in state or plan.
  value_wo         = var.value
  value_wo_version = local.write_version
}
