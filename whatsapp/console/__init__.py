"""The WhatsApp pages for people: the wizard's steps, the side panel's tabs, the actions
outside them, and their forms."""
