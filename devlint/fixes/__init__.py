"""What fixes need beyond a rule's own edits."""
