/** Users and groups (admins only). */
import { Type } from '@sinclair/typebox';
import type { GroupInfo, UserInfo } from '../../identity/types.js';
import { GroupInfoBody, PrincipalName, RoleBody, UserInfoBody, errorResponses } from '../schemas.js';
import { actorOf, type ApiPlugin } from '../types.js';

const Password = Type.String({ minLength: 1, maxLength: 1000 });
const Email = Type.Union([Type.String({ pattern: '^[^\\s@]+@[^\\s@]+$', maxLength: 320 }), Type.Null()]);
const UserParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 200 }) });
const GroupParams = Type.Object({ group: Type.String({ minLength: 1, maxLength: 200 }) });
const MemberParams = Type.Object({
  group: Type.String({ minLength: 1, maxLength: 200 }),
  username: Type.String({ minLength: 1, maxLength: 200 }),
});

const userReply = (u: UserInfo) => ({ user: u });
const groupReply = (g: GroupInfo) => ({ group: g });

export const usersRoutes: ApiPlugin = async (app, { directory }) => {
  app.get(
    '/users',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'List users',
        tags: ['users'],
        response: { 200: Type.Object({ users: Type.Array(UserInfoBody) }), ...errorResponses },
      },
    },
    async () => ({ users: directory.listUsers() }),
  );

  app.post(
    '/users',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Create a local user (without a password they can only sign in through SSO or tokens)',
        tags: ['users'],
        body: Type.Object(
          {
            username: PrincipalName,
            password: Type.Optional(Password),
            role: RoleBody,
            email: Type.Optional(Email),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ user: UserInfoBody }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = await directory.createUser(actorOf(request), request.body);
      return reply.status(201).send(userReply(user));
    },
  );

  app.patch(
    '/users/:username',
    {
      config: { access: 'admin' },
      schema: {
        summary: "Change a user's role, email or password",
        tags: ['users'],
        params: UserParams,
        body: Type.Object(
          { role: Type.Optional(RoleBody), email: Type.Optional(Email), password: Type.Optional(Password) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Object({ user: UserInfoBody }), ...errorResponses },
      },
    },
    async (request) =>
      userReply(await directory.updateUser(actorOf(request), request.params.username, request.body)),
  );

  app.delete(
    '/users/:username',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Delete a user with their tokens, sessions and keys (their apps stay, without owner)',
        tags: ['users'],
        params: UserParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await directory.destroyUser(actorOf(request), request.params.username);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/groups',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'List groups with their members',
        tags: ['groups'],
        response: { 200: Type.Object({ groups: Type.Array(GroupInfoBody) }), ...errorResponses },
      },
    },
    async () => ({ groups: directory.listGroups() }),
  );

  app.post(
    '/groups',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Create a group',
        tags: ['groups'],
        body: Type.Object({ name: PrincipalName }, { additionalProperties: false }),
        response: { 201: Type.Object({ group: GroupInfoBody }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const group = await directory.createGroup(actorOf(request), request.body.name);
      return reply.status(201).send(groupReply(group));
    },
  );

  app.delete(
    '/groups/:group',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Delete a group (its grants on apps go with it)',
        tags: ['groups'],
        params: GroupParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await directory.destroyGroup(actorOf(request), request.params.group);
      return reply.status(204).send(null);
    },
  );

  app.put(
    '/groups/:group/members/:username',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Add a user to a group',
        tags: ['groups'],
        params: MemberParams,
        response: { 200: Type.Object({ group: GroupInfoBody }), ...errorResponses },
      },
    },
    async (request) =>
      groupReply(await directory.addToGroup(actorOf(request), request.params.group, request.params.username)),
  );

  app.delete(
    '/groups/:group/members/:username',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Remove a user from a group',
        tags: ['groups'],
        params: MemberParams,
        response: { 200: Type.Object({ group: GroupInfoBody }), ...errorResponses },
      },
    },
    async (request) =>
      groupReply(
        await directory.removeFromGroup(actorOf(request), request.params.group, request.params.username),
      ),
  );
};
