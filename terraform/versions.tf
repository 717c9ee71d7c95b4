terraform {
  # 1.11: write-only arguments, so the SecureString values never reach state or plan.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # A minimum only, as a module should: 5.100 is the first release with write-only SSM values.
      # The roots that call it (examples/) pin the major versions they were tested with.
      version = ">= 5.100"
    }
  }
}
