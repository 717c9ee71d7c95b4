terraform {
  # 1.11: write-only arguments, so the SecureString values never reach state or plan.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100 is the first release with write-only SSM values; 6.x is what a fresh `init` installs.
      version = ">= 5.100, < 7.0"
    }
  }
}
