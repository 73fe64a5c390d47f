"""The CloudTally CDK app: one stack for the whole AWS side, generated from the collector registry."""
