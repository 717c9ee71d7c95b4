resource "aws_ssm_parameter" "this" {
  name        = var.name
  description = var.description
  type        = "SecureString"
  key_id      = var.kms_key_arn
  tier        = "Standard"
  tags        = var.tags

  # Write-only: sent to SSM when value_version changes, never kept in state or plan.
  value_wo         = var.value
  value_wo_version = var.value_version
}
